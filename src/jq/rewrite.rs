//! Source rewrites applied before compiling a mapping expression.
//!
//! * Ocean's single-quote rewrite (`_format_filter`): a `'` at the start or after whitespace, not
//!   followed by whitespace or `"`, becomes `"`; a `'` not preceded by whitespace or `"` and
//!   followed by whitespace or the end becomes `"`. The rewrite keeps byte offsets unchanged.
//! * Interpolated strings without a format (`"a\(.x)"`) get the internal format [`TEXT_FMT`], so
//!   interpolated numbers print with jq's number formatting instead of jaq's.

use jaq_core::load::lex::{Lexer, StrPart, Tok, Token};

/// The format prefixed to plain interpolated strings; defined natively in [`super::funs`].
pub const TEXT_FMT: &str = "@jqtext";

/// Apply Ocean's single-quote rewrite.
pub fn single_quotes(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    for (i, &c) in chars.iter().enumerate() {
        if c != '\'' {
            out.push(c);
            continue;
        }
        let prev = if i == 0 { None } else { Some(chars[i - 1]) };
        let next = chars.get(i + 1).copied();
        let rule1 = prev.is_none_or(char::is_whitespace)
            && !next.is_some_and(|n| n.is_whitespace() || n == '"');
        let rule2 = !prev.is_some_and(|p| p.is_whitespace() || p == '"')
            && next.is_none_or(char::is_whitespace);
        out.push(if rule1 || rule2 { '"' } else { '\'' });
    }
    out
}

/// Insert [`TEXT_FMT`] before every interpolated string that has no format.
///
/// Returns the rewritten source and the byte offsets (in the input) where text was inserted, so
/// error offsets can be mapped back. Sources that do not lex are returned unchanged.
pub fn interpolations(src: &str) -> (String, Vec<usize>) {
    let Ok(tokens) = Lexer::new(src).lex() else {
        return (src.to_owned(), Vec::new());
    };
    let mut at = Vec::new();
    collect(src, &tokens, &mut at);
    if at.is_empty() {
        return (src.to_owned(), at);
    }
    at.sort_unstable();
    let mut out = String::with_capacity(src.len() + at.len() * (TEXT_FMT.len() + 1));
    let mut last = 0;
    for &pos in &at {
        out.push_str(&src[last..pos]);
        out.push_str(TEXT_FMT);
        out.push(' ');
        last = pos;
    }
    out.push_str(&src[last..]);
    (out, at)
}

fn collect(src: &str, tokens: &[Token<&str>], at: &mut Vec<usize>) {
    for (i, Token(s, tok)) in tokens.iter().enumerate() {
        match tok {
            Tok::Str(parts) => {
                let interpolated = parts.iter().any(|p| matches!(p, StrPart::Term(_)));
                let prev = i.checked_sub(1).map(|j| &tokens[j]);
                let formatted = matches!(prev, Some(Token(_, Tok::Fmt)));
                let after_dot = matches!(prev, Some(Token(p, Tok::Sym)) if p.ends_with('.'));
                let after_def_or_import = matches!(prev, Some(Token(p, Tok::Word))
                    if matches!(*p, "import" | "include"));
                if interpolated && !formatted && !after_dot && !after_def_or_import {
                    at.push(jaq_core::load::span(src, s).start);
                }
                for p in parts {
                    if let StrPart::Term(t) = p {
                        collect(src, std::slice::from_ref(t), at);
                    }
                }
            }
            Tok::Block(inner) => collect(src, inner, at),
            _ => {}
        }
    }
}

/// Map a byte offset in rewritten text back to the original, given the insertion points.
pub fn original_offset(offset: usize, inserted: &[usize]) -> usize {
    let step = TEXT_FMT.len() + 1;
    let mut shift = 0;
    for &pos in inserted {
        if offset >= pos + shift + step {
            shift += step;
        } else {
            break;
        }
    }
    offset.saturating_sub(shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_follow_ocean() {
        assert_eq!(single_quotes(".a + '/' + .b"), r#".a + "/" + .b"#);
        assert_eq!(single_quotes("'okta-user'"), r#""okta-user""#);
        assert_eq!(single_quotes(r#""it's""#), r#""it's""#);
        assert_eq!(single_quotes(r#"'"x"'"#), r#"'"x"'"#);
        assert_eq!(single_quotes(".a"), ".a");
    }

    #[test]
    fn interpolations_get_the_text_format() {
        let (s, at) = interpolations(r#""a\(.x)b""#);
        assert_eq!(s, r#"@jqtext "a\(.x)b""#);
        assert_eq!(at, vec![0]);
        let (s, _) = interpolations(r#"@base64 "a\(.x)""#);
        assert_eq!(s, r#"@base64 "a\(.x)""#);
        let (s, _) = interpolations(r#""plain" + "\("in\(1)")""#);
        assert_eq!(s, r#""plain" + @jqtext "\(@jqtext "in\(1)")""#);
        assert_eq!(original_offset(9, &[0]), 1);
        assert_eq!(original_offset(3, &[5]), 3);
    }
}
