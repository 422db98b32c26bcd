//! Trusted roots when `SSL_CERT_FILE` is set: the system's CA bundle **plus** that file.
//!
//! The native-roots loader replaces the system store with `SSL_CERT_FILE` when the variable is
//! set; a corporate CA would then make every public CA untrusted. Here the file adds to the
//! system bundle instead (found where OpenSSL-based systems keep it).

use super::OktaError;
use std::path::Path;

/// Where Linux distributions and BSDs keep the system CA bundle, most common first.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

/// The certificates of the first existing system bundle among `system`, plus every certificate
/// of `extra`. An `extra` file that cannot be read or holds no certificate is an error.
pub fn roots_with(extra: &Path, system: &[&str]) -> Result<Vec<reqwest::Certificate>, OktaError> {
    let bad = |why: String| OktaError::Config(format!("SSL_CERT_FILE {}: {why}", extra.display()));
    let pem = std::fs::read(extra).map_err(|e| bad(e.to_string()))?;
    let added = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
    if added.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    let mut roots = system
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
        .unwrap_or_default();
    roots.extend(added);
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_adds_to_the_system_bundle_and_an_empty_one_is_an_error() {
        // Test-only self-signed CAs: a two-certificate "system" bundle and one extra CA.
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls");
        let system = fixtures.join("system-bundle.pem");
        let system = system.to_str().unwrap();
        let extra = fixtures.join("extra-ca.pem");
        assert_eq!(roots_with(&extra, &["/nonexistent.pem", system]).unwrap().len(), 3);
        let not_pem = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let err = roots_with(&not_pem, &[system]).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate") && err.contains("Cargo.toml"), "{err}");
        assert!(roots_with(&fixtures.join("missing.pem"), &[system]).is_err());
    }
}
