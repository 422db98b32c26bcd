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

/// Rewrite `src` for jaq: [`TEXT_FMT`] before every interpolated string that has no format, and
/// `(try A) // B` for every `A // B` (jq's `//` swallows errors raised by its left side; jaq's
/// does not).
///
/// Returns the rewritten source and the insertions as (offset in the input, inserted length), so
/// error offsets can be mapped back. Sources that do not lex are returned unchanged.
pub fn for_jaq(src: &str) -> (String, Vec<(usize, usize)>) {
    let Ok(tokens) = Lexer::new(src).lex() else {
        return (src.to_owned(), Vec::new());
    };
    let mut ins: Vec<(usize, String)> = Vec::new();
    let mut cut: Vec<(usize, usize)> = Vec::new();
    collect(src, &tokens, &mut ins, &mut cut);
    // A replaced stretch is a cut (start, length) plus an insertion at its start.
    let ins: Vec<(usize, usize, String)> = ins
        .into_iter()
        .map(|(pos, text)| {
            let removed = cut.iter().find(|(at, _)| *at == pos).map_or(0, |(_, n)| *n);
            (pos, removed, text)
        })
        .collect();
    if ins.is_empty() {
        return (src.to_owned(), Vec::new());
    }
    // Stable: insertions at the same offset keep the order they were found in.
    let mut ins = ins;
    ins.sort_by_key(|(pos, removed, _)| (*pos, *removed));
    let mut out = String::with_capacity(src.len() + ins.len() * 8);
    let mut last = 0;
    let mut shifts = Vec::with_capacity(ins.len());
    for (pos, removed, text) in &ins {
        out.push_str(&src[last..*pos]);
        out.push_str(text);
        // A replacement keeps positions after it only approximately (error columns).
        shifts.push((*pos, text.len().saturating_sub(*removed)));
        last = *pos + removed;
    }
    out.push_str(&src[last..]);
    (out, shifts)
}

fn is_sym(t: &Token<&str>, s: &str) -> bool {
    matches!(t, Token(x, Tok::Sym) if *x == s)
}

/// Tokens that end the left operand of `//` when scanning backwards at one nesting level.
fn starts_operand_after(t: &Token<&str>) -> bool {
    match t {
        Token(x, Tok::Sym) => matches!(*x, "," | "|" | "//" | ";" | ":"),
        Token(x, Tok::Word) => {
            matches!(*x, "if" | "then" | "elif" | "else" | "catch" | "def" | "import" | "include")
        }
        _ => false,
    }
}

/// In an object pattern (and the patterns nested in it), `$name: pattern` gets `, "name"`
/// after the variable.
fn var_keys(src: &str, block: &Token<&str>, ins: &mut Vec<(usize, String)>) {
    let Token(text, Tok::Block(inner)) = block else { return };
    let is_obj = text.starts_with('{');
    for (j, t) in inner.iter().enumerate() {
        match t {
            Token(v, Tok::Var)
                if is_obj
                    && v.starts_with('$')
                    && inner.get(j + 1).is_some_and(|c| is_sym(c, ":")) =>
            {
                let end = jaq_core::load::span(src, v).end;
                ins.push((end, format!(", \"{}\"", &v[1..])));
            }
            Token(_, Tok::Block(_)) => var_keys(src, t, ins),
            _ => {}
        }
    }
}

/// The name of the filter that marks `E as [P1, P2] | _jq_alt_marker | B`, the form jq's
/// destructuring alternatives `E as P1 ?// P2 | B` take for jaq's parser (`arith.rs` prints it
/// back with jq's meaning).
pub const ALT_MARKER: &str = "_jq_alt_marker";

fn collect(
    src: &str,
    tokens: &[Token<&str>],
    ins: &mut Vec<(usize, String)>,
    cut: &mut Vec<(usize, usize)>,
) {
    let start_of = |t: &Token<&str>| jaq_core::load::span(src, t.0).start;
    let end_of = |t: &Token<&str>| jaq_core::load::span(src, t.0).end;
    // `?` `//` pairs of destructuring alternatives (not the `//` operator).
    let mut alt_syms: Vec<usize> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        if matches!(tok, Token("as", Tok::Word)) {
            let is_alt = |j: usize| {
                matches!((tokens.get(j), tokens.get(j + 1)), (Some(q), Some(s))
                    if is_sym(q, "?") && is_sym(s, "//") && end_of(q) == start_of(s))
            };
            let mut j = i + 1;
            if j < tokens.len() && is_alt(j + 1) {
                ins.push((start_of(&tokens[j]), "[".to_owned()));
                while is_alt(j + 1) && j + 3 < tokens.len() {
                    let (q, s) = (&tokens[j + 1], &tokens[j + 2]);
                    cut.push((start_of(q), end_of(s) - start_of(q)));
                    ins.push((start_of(q), ",".to_owned()));
                    alt_syms.extend([j + 1, j + 2]);
                    j += 3;
                }
                ins.push((end_of(&tokens[j]), format!("] | {ALT_MARKER}")));
            }
        }
        if alt_syms.contains(&i) {
            continue;
        }
        // `.5`: jq's lexer reads a number; jaq's reads `.` and `5`.
        if is_sym(tok, ".")
            && let Some(next @ Token(_, Tok::Num)) = tokens.get(i + 1)
            && end_of(tok) == start_of(next)
        {
            ins.push((start_of(tok), "0".to_owned()));
        }
        // `reduce .[] / .[] as $x (…)`: jq takes a whole term before `as`; jaq a postfix term.
        if matches!(tok, Token("reduce" | "foreach", Tok::Word)) {
            let as_at = tokens[i + 1..].iter().position(|t| matches!(t, Token("as", Tok::Word)));
            if let Some(n) = as_at.filter(|n| *n > 1) {
                ins.push((start_of(&tokens[i + 1]), "(".to_owned()));
                ins.push((end_of(&tokens[i + n]), ")".to_owned()));
            }
        }
        // `{$b: [$c]}` in a pattern binds `$b` to `.b` too: jaq spells it `{$b, "b": [$c]}`.
        if matches!(tok, Token("as", Tok::Word))
            && let Some(p @ Token(_, Tok::Block(_))) = tokens.get(i + 1)
        {
            var_keys(src, p, ins);
        }
        match &tok.1 {
            Tok::Str(parts) => {
                let interpolated = parts.iter().any(|p| matches!(p, StrPart::Term(_)));
                let prev = i.checked_sub(1).map(|j| &tokens[j]);
                let formatted = matches!(prev, Some(Token(_, Tok::Fmt)));
                let after_dot = matches!(prev, Some(Token(p, Tok::Sym)) if p.ends_with('.'));
                let after_import = matches!(prev, Some(Token(p, Tok::Word))
                    if matches!(*p, "import" | "include"));
                if interpolated && !formatted && !after_dot && !after_import {
                    ins.push((start_of(tok), format!("{TEXT_FMT} ")));
                }
                for p in parts {
                    if let StrPart::Term(t) = p {
                        collect(src, std::slice::from_ref(t), ins, cut);
                    }
                }
            }
            Tok::Block(inner) => {
                // The block's own delimiters are its first and last tokens' neighbours: the
                // inner tokens start after the opening delimiter.
                collect(src, inner, ins, cut);
            }
            Tok::Sym if is_sym(tok, "//") => {
                // Find where the left operand starts at this level.
                // `if ... end` is one operand: skip nested conditionals as a whole.
                let mut j = i;
                let mut depth = 0usize;
                while j > 0 {
                    let t = &tokens[j - 1];
                    if matches!(t, Token("end", Tok::Word)) {
                        depth += 1;
                    } else if depth > 0 && matches!(t, Token("if", Tok::Word)) {
                        depth -= 1;
                    } else if depth == 0 && starts_operand_after(t) {
                        break;
                    }
                    j -= 1;
                }
                if j < i {
                    ins.push((start_of(&tokens[j]), "(try (".to_owned()));
                    ins.push((start_of(tok), ")) ".to_owned()));
                }
            }
            _ => {}
        }
    }
}

/// Map a byte offset in rewritten text back to the original, given the insertions.
pub fn original_offset(offset: usize, inserted: &[(usize, usize)]) -> usize {
    let mut shift = 0;
    for &(pos, len) in inserted {
        if offset >= pos + shift + len {
            shift += len;
        } else if offset >= pos + shift {
            return pos;
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
        let (s, at) = for_jaq(r#""a\(.x)b""#);
        assert_eq!(s, r#"@jqtext "a\(.x)b""#);
        assert_eq!(at, vec![(0, 8)]);
        let (s, _) = for_jaq(r#"@base64 "a\(.x)""#);
        assert_eq!(s, r#"@base64 "a\(.x)""#);
        let (s, _) = for_jaq(r#""plain" + "\("in\(1)")""#);
        assert_eq!(s, r#""plain" + @jqtext "\(@jqtext "in\(1)")""#);
        assert_eq!(original_offset(9, &[(0, 8)]), 1);
        assert_eq!(original_offset(3, &[(5, 8)]), 3);
    }

    #[test]
    fn alternatives_swallow_left_errors() {
        assert_eq!(for_jaq(".a // .b").0, "(try (.a )) // .b");
        assert_eq!(for_jaq(".a // .b // .c").0, "(try (.a )) // (try (.b )) // .c");
        assert_eq!(for_jaq("1, .a + 1 // 2 | f").0, "1, (try (.a + 1 )) // 2 | f");
        assert_eq!(for_jaq("{a: .x // 1}").0, "{a: (try (.x )) // 1}");
        assert_eq!(
            for_jaq("if .a // .b then 1 else 2 end").0,
            "if (try (.a )) // .b then 1 else 2 end"
        );
        assert_eq!(for_jaq(".a //= 1").0, ".a //= 1");
        assert_eq!(
            for_jaq("if .a then 1 else 2 end // 3").0,
            "(try (if .a then 1 else 2 end )) // 3"
        );
    }
}
