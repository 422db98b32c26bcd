//! One module per subcommand.

pub mod catalog;
pub mod demo;
pub mod map;
pub mod serve;
pub mod sync;
pub mod target;

/// `secs` seconds from a flag or variable named `name`, clamped to `lo..=hi`; an error for a
/// value that is not a number of seconds (NaN, infinite).
pub fn seconds(name: &str, secs: f64, lo: f64, hi: f64) -> anyhow::Result<std::time::Duration> {
    if !secs.is_finite() {
        anyhow::bail!("{name}: not a number of seconds: {secs}");
    }
    Ok(std::time::Duration::from_secs_f64(secs.clamp(lo, hi)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_must_be_a_number_of_seconds() {
        assert_eq!(super::seconds("--x", 2.5, 0.0, 10.0).unwrap().as_millis(), 2500);
        assert_eq!(super::seconds("--x", 99.0, 0.0, 10.0).unwrap().as_secs(), 10);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = super::seconds("--poll-interval", bad, 0.0, 10.0).unwrap_err().to_string();
            assert!(err.contains("--poll-interval"), "{err}");
        }
    }
}
