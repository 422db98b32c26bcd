//! `Link` header parsing and the same-origin rule for following `rel="next"`.

/// The `rel="next"` URL among `Link` header values, if any.
///
/// Accepts one relation per header line (Okta's form) and several comma-joined relations in one
/// value (what proxies and some clients produce); header names are matched case-insensitively by
/// the caller.
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    for value in values {
        for part in split_links(value) {
            let Some((url, params)) = parse_link(part) else { continue };
            let is_next = params.split(';').any(|p| {
                let p = p.trim();
                let Some(rel) = p.strip_prefix("rel=") else { return false };
                rel.trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(url.to_string());
            }
        }
    }
    None
}

/// Splits a header value at the commas that separate links (never inside `<…>`).
fn split_links(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn parse_link(part: &str) -> Option<(&str, &str)> {
    let part = part.trim();
    let rest = part.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// `scheme://host[:port]` of an absolute URL, lowercased, with the default port made explicit.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        authority
    } else {
        let port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        format!("{authority}:{port}")
    };
    Some(format!("{scheme}://{with_port}"))
}

/// Whether an origin (`scheme://host:port`) is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(origin: &str) -> bool {
    let Some((_, authority)) = origin.split_once("://") else { return false };
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_among_separate_lines() {
        let lines = [
            "<https://dev.okta.com/api/v1/users?limit=200>; rel=\"self\"",
            "<https://dev.okta.com/api/v1/users?after=00u1&limit=200>; rel=\"next\"",
        ];
        assert_eq!(
            next_link(lines).as_deref(),
            Some("https://dev.okta.com/api/v1/users?after=00u1&limit=200")
        );
    }

    #[test]
    fn finds_next_in_a_comma_joined_value_with_commas_in_the_url() {
        let v = "<https://x.okta.com/api/v1/users?fields=id,status&limit=2>; rel=\"self\", \
                 <https://x.okta.com/api/v1/users?fields=id,status&after=00u9&limit=2>; rel=\"next\"";
        assert_eq!(
            next_link([v]).as_deref(),
            Some("https://x.okta.com/api/v1/users?fields=id,status&after=00u9&limit=2")
        );
    }

    #[test]
    fn no_next_means_none() {
        assert_eq!(next_link(["<https://x/api/v1/users>; rel=\"self\""]), None);
        assert_eq!(next_link(["garbage"]), None);
        assert_eq!(next_link(Vec::<&str>::new()), None);
    }

    #[test]
    fn loopback_origins() {
        assert!(is_loopback("http://127.0.0.1:8080"));
        assert!(is_loopback("http://127.3.4.5:80"));
        assert!(is_loopback("http://localhost:80"));
        assert!(is_loopback("http://[::1]:9000"));
        assert!(!is_loopback("http://example.com:80"));
        assert!(!is_loopback("http://127.0.0.1.example.com:80"));
        assert!(!is_loopback("http://10.0.0.1:80"));
    }

    #[test]
    fn origin_normalises_default_ports_and_case() {
        assert_eq!(
            origin("https://Dev.Okta.com/api/v1").as_deref(),
            Some("https://dev.okta.com:443")
        );
        assert_eq!(
            origin("https://dev.okta.com:443/x").as_deref(),
            Some("https://dev.okta.com:443")
        );
        assert_eq!(origin("http://127.0.0.1:8080?a").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin("https://evil.com@dev.okta.com/"), None);
        assert_eq!(origin("ftp://x"), None);
        assert_eq!(origin("nonsense"), None);
    }
}
