//! A string that never shows itself in `Debug` or `Display` output.

use std::fmt;

/// A secret value (Okta API token, webhook secret, Port client secret).
///
/// `Debug` and `Display` both print `**REDACTED**`; the value is only reachable through
/// [`Secret::expose`], so a secret cannot reach a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself: call only where it is sent to its destination.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `other` in time independent of where the two differ.
    pub fn constant_time_eq(&self, other: &[u8]) -> bool {
        let a = self.0.as_bytes();
        let mut diff = (a.len() ^ other.len()) as u8 | u8::from(a.len() != other.len());
        for (i, b) in other.iter().enumerate() {
            diff |= a.get(i).copied().unwrap_or(0) ^ b;
        }
        diff == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "**REDACTED**");
        assert_eq!(format!("{s}"), "**REDACTED**");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(**REDACTED**)");
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn constant_time_eq_matches_only_the_same_bytes() {
        let s = Secret::new("abc");
        assert!(s.constant_time_eq(b"abc"));
        assert!(!s.constant_time_eq(b"abd"));
        assert!(!s.constant_time_eq(b"ab"));
        assert!(!s.constant_time_eq(b"abcd"));
        assert!(!s.constant_time_eq(b""));
    }
}
