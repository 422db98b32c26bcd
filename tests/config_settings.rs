//! Settings from the environment: names and aliases, OKTA_DOMAIN normalisation, conflicts,
//! defaults, and redaction of secrets.

use port_okta::config::settings::{
    DEFAULT_INTEGRATION_IDENTIFIER, DEFAULT_PORT_BASE_URL, Settings, normalize_okta_domain,
};
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn errors(pairs: &[(&str, &str)]) -> Vec<String> {
    match Settings::from_env(&env(pairs)) {
        Ok(s) => panic!("expected errors, got {s:?}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn defaults_with_an_empty_environment() {
    let s = Settings::from_env(&HashMap::new()).unwrap();
    assert_eq!(s.okta_base_url, None);
    assert!(s.okta_api_token.is_none() && s.okta_webhook_secret.is_none());
    assert!(s.port_client_id.is_none() && s.port_client_secret.is_none());
    assert_eq!(s.port_base_url, DEFAULT_PORT_BASE_URL);
    assert_eq!(s.port_base_url, "https://api.getport.io");
    assert_eq!(s.integration_identifier, DEFAULT_INTEGRATION_IDENTIFIER);
    assert_eq!(s.integration_identifier, "my-okta-integration");
    assert_eq!(s.base_url, None);
    assert_eq!(s.scheduled_resync_interval_minutes, None);
    assert!(s.send_raw_data_examples);
    assert!(!s.allow_env_jq_access, "env access from jq is off by default (W-C15)");
    assert!(s.okta_credentials().is_err());
}

#[test]
fn okta_domain_normalisation_matrix() {
    let ok = [
        ("dev-123.okta.com", "https://dev-123.okta.com"),
        ("dev-123.okta.com/", "https://dev-123.okta.com"),
        ("  dev-123.okta.com\n", "https://dev-123.okta.com"),
        ("Dev-123.OKTA.com", "https://dev-123.okta.com"),
        ("https://dev-123.okta.com", "https://dev-123.okta.com"),
        ("https://dev-123.okta.com/", "https://dev-123.okta.com"),
        ("HTTPS://dev-123.okta.com", "https://dev-123.okta.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("acme.oktapreview.com:8443", "https://acme.oktapreview.com:8443"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ];
    for (input, want) in ok {
        assert_eq!(normalize_okta_domain(input).as_deref(), Ok(want), "{input:?}");
    }
    let bad = [
        "https://dev-123.okta.com/api/v1",
        "https://dev-123-admin.okta.com/admin/dashboard",
        "dev-123.okta.com?x=1",
        "https://dev-123.okta.com#frag",
        "ftp://dev-123.okta.com",
        "https://",
        "https://user:pw@dev-123.okta.com",
        "dev_123.okta.com",
        "-dev.okta.com",
        "dev..okta.com",
        "dev 123.okta.com",
        "http://127.0.0.1:notaport",
        "http://127.0.0.1:70000",
        "https://[::1",
    ];
    for input in bad {
        assert!(normalize_okta_domain(input).is_err(), "{input:?} should be rejected");
    }
}

#[test]
fn a_bad_okta_domain_names_the_variable_used() {
    let e = errors(&[("OKTA_DOMAIN", "https://dev-1.okta.com/api/v1")]);
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("OKTA_DOMAIN: "), "{e:?}");
    assert!(e[0].contains("has a path (`/api/v1`)"), "{e:?}");
    let e = errors(&[("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN", "ftp://x")]);
    assert!(e[0].starts_with("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN: "), "{e:?}");
}

#[test]
fn ocean_names_and_short_aliases_both_work() {
    let ocean = Settings::from_env(&env(&[
        ("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN", "dev-1.okta.com"),
        ("OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN", "tok-ocean"),
        ("OCEAN__INTEGRATION__CONFIG__OKTA_WEBHOOK_SECRET", "hook-ocean"),
        ("OCEAN__PORT__CLIENT_ID", "cid"),
        ("OCEAN__PORT__CLIENT_SECRET", "csecret"),
        ("OCEAN__PORT__BASE_URL", "https://api.us.getport.io/"),
        ("OCEAN__INTEGRATION__IDENTIFIER", "okta-prod"),
        ("OCEAN__BASE_URL", "https://hooks.example.com/"),
        ("OCEAN__SCHEDULED_RESYNC_INTERVAL", "60"),
        ("OCEAN__SEND_RAW_DATA_EXAMPLES", "false"),
        ("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", "true"),
    ]))
    .unwrap();
    let short = Settings::from_env(&env(&[
        ("OKTA_DOMAIN", "dev-1.okta.com"),
        ("OKTA_API_TOKEN", "tok-ocean"),
        ("OKTA_WEBHOOK_SECRET", "hook-ocean"),
        ("PORT_CLIENT_ID", "cid"),
        ("PORT_CLIENT_SECRET", "csecret"),
        ("PORT_BASE_URL", "https://api.us.getport.io/"),
        ("INTEGRATION_IDENTIFIER", "okta-prod"),
        ("BASE_URL", "https://hooks.example.com/"),
        ("SCHEDULED_RESYNC_INTERVAL", "60"),
        ("SEND_RAW_DATA_EXAMPLES", "false"),
        ("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", "true"),
    ]))
    .unwrap();
    assert_eq!(ocean, short);
    let s = ocean;
    assert_eq!(s.okta_base_url.as_deref(), Some("https://dev-1.okta.com"));
    assert_eq!(s.okta_api_token.as_ref().unwrap().expose(), "tok-ocean");
    assert_eq!(s.okta_webhook_secret.as_ref().unwrap().expose(), "hook-ocean");
    assert_eq!(s.port_client_id.as_deref(), Some("cid"));
    assert_eq!(s.port_client_secret.as_ref().unwrap().expose(), "csecret");
    assert_eq!(s.port_base_url, "https://api.us.getport.io");
    assert_eq!(s.integration_identifier, "okta-prod");
    assert_eq!(s.base_url.as_deref(), Some("https://hooks.example.com"));
    assert_eq!(s.scheduled_resync_interval_minutes.map(|n| n.get()), Some(60));
    assert!(!s.send_raw_data_examples);
    assert!(s.allow_env_jq_access);
    let (url, token) = s.okta_credentials().unwrap();
    assert_eq!((url, token.expose()), ("https://dev-1.okta.com", "tok-ocean"));
}

#[test]
fn names_match_case_insensitively_and_empty_means_unset() {
    let s = Settings::from_env(&env(&[
        ("ocean__integration__config__okta_domain", "dev-2.okta.com"),
        ("OKTA_API_TOKEN", ""),
        ("PORT_BASE_URL", "   "),
    ]))
    .unwrap();
    assert_eq!(s.okta_base_url.as_deref(), Some("https://dev-2.okta.com"));
    assert!(s.okta_api_token.is_none());
    assert_eq!(s.port_base_url, DEFAULT_PORT_BASE_URL);
}

#[test]
fn the_same_value_under_both_names_is_fine_different_values_are_an_error() {
    let s = Settings::from_env(&env(&[
        ("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN", "dev-1.okta.com"),
        ("OKTA_DOMAIN", "dev-1.okta.com"),
    ]))
    .unwrap();
    assert_eq!(s.okta_base_url.as_deref(), Some("https://dev-1.okta.com"));

    let e = errors(&[
        ("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN", "dev-1.okta.com"),
        ("OKTA_DOMAIN", "dev-2.okta.com"),
    ]);
    assert_eq!(
        e,
        [
            "OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN: `OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN` (\"dev-1.okta.com\") and `OKTA_DOMAIN` (\"dev-2.okta.com\") are both set, to different values; set only one"
        ]
    );
}

#[test]
fn a_conflict_between_secrets_does_not_show_them() {
    let e = errors(&[
        ("OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN", "s3cr3t-one"),
        ("OKTA_API_TOKEN", "s3cr3t-two"),
    ]);
    assert_eq!(e.len(), 1);
    assert!(!e[0].contains("s3cr3t"), "{e:?}");
    assert!(e[0].contains("different values"), "{e:?}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors(&[
        ("OKTA_DOMAIN", "https://x.okta.com/path"),
        ("PORT_BASE_URL", "api.getport.io"),
        ("BASE_URL", "ftp://x"),
        ("SCHEDULED_RESYNC_INTERVAL", "0"),
        ("SEND_RAW_DATA_EXAMPLES", "sometimes"),
        ("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", "2"),
    ]);
    let vars: Vec<_> = e.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        vars,
        [
            "OKTA_DOMAIN",
            "PORT_BASE_URL",
            "BASE_URL",
            "SCHEDULED_RESYNC_INTERVAL",
            "SEND_RAW_DATA_EXAMPLES",
            "OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS"
        ],
        "{e:#?}"
    );
    assert!(e[3].contains("positive whole number of minutes"), "{e:?}");
}

#[test]
fn resync_interval_accepts_positive_minutes_only() {
    for bad in ["0", "-5", "1.5", "ten"] {
        let e = errors(&[("SCHEDULED_RESYNC_INTERVAL", bad)]);
        assert_eq!(e.len(), 1, "{bad}");
    }
    let s = Settings::from_env(&env(&[("SCHEDULED_RESYNC_INTERVAL", " 15 ")])).unwrap();
    assert_eq!(s.scheduled_resync_interval_minutes.unwrap().get(), 15);
}

#[test]
fn booleans_take_pydantic_words() {
    for (v, want) in [("true", true), ("False", false), ("1", true), ("no", false), ("ON", true)] {
        let s = Settings::from_env(&env(&[("SEND_RAW_DATA_EXAMPLES", v)])).unwrap();
        assert_eq!(s.send_raw_data_examples, want, "{v}");
    }
}

#[test]
fn debug_output_never_contains_a_secret() {
    let s = Settings::from_env(&env(&[
        ("OKTA_DOMAIN", "dev-1.okta.com"),
        ("OKTA_API_TOKEN", "00aTokenValue-XYZ"),
        ("OKTA_WEBHOOK_SECRET", "hook-secret-value"),
        ("PORT_CLIENT_ID", "client-id-is-not-secret"),
        ("PORT_CLIENT_SECRET", "port-secret-value"),
    ]))
    .unwrap();
    for shown in [format!("{s:?}"), format!("{s:#?}")] {
        for secret in ["00aTokenValue-XYZ", "hook-secret-value", "port-secret-value"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("**REDACTED**"));
        assert!(shown.contains("client-id-is-not-secret"));
    }
}

#[test]
fn odd_domain_values_never_panic() {
    let alphabet: Vec<char> = "ab.-_:/[]@?#%09 é\u{1F600}\t\nhttps".chars().collect();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..20_000 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let len = (state >> 58) as usize;
        let mut s = String::new();
        for k in 0..len {
            let r = state.rotate_left(k as u32 * 7);
            s.push(alphabet[(r as usize) % alphabet.len()]);
        }
        let _ = normalize_okta_domain(&s);
        let _ = normalize_okta_domain(&format!("https://{s}"));
        let _ = Settings::from_env(&env(&[("OKTA_DOMAIN", &s), ("PORT_BASE_URL", &s)]));
    }
}

#[test]
fn port_batch_limits_resources_and_retries_have_oceans_names_and_bounds() {
    let s = Settings::from_env(&HashMap::new()).unwrap();
    assert!(s.initialize_port_resources);
    assert_eq!((s.upsert_batch_max_length, s.upsert_batch_max_bytes), (20, 1 << 20));
    assert_eq!(s.port_max_retries, 10);
    let s = Settings::from_env(&env(&[
        ("OCEAN__INITIALIZE_PORT_RESOURCES", "false"),
        ("OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH", "5"),
        ("OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES", "65536"),
        ("PORT_MAX_RETRIES", "2"),
    ]))
    .unwrap();
    assert!(!s.initialize_port_resources);
    assert_eq!((s.upsert_batch_max_length, s.upsert_batch_max_bytes), (5, 65536));
    assert_eq!(s.port_max_retries, 2);
    // Port refuses bulks of more than 20 entities: a larger setting is an error, not a surprise.
    assert_eq!(
        errors(&[("OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH", "50")]),
        [
            "OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH: expected a whole number from 1 to 20, found \"50\""
        ]
    );
}
