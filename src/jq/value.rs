//! Conversions between `serde_json::Value` and jaq's value type, and jq 1.8.2's JSON text.
//!
//! Numbers keep their literal text like jq 1.8.2 (built with decNumber) until arithmetic touches
//! them. serde_json is built with `arbitrary_precision`, so a `Number` holds the text it was
//! parsed from; it becomes a jaq `Int` (an integer that fits), `BigInt` (a longer integer) or
//! `Dec` (anything else, the text kept as written). Printed (`tostring`, `tojson`, string
//! interpolation, entity JSON), a literal shows decNumber's canonical spelling of its text
//! ([`canonical_literal`]: `1.0` stays `1.0`, `1e2` is `1E+2`, `0.0000001` is `1E-7`); a double
//! computed by arithmetic prints the way jq's `jvp_dtoa_fmt` does: shortest round-trip digits,
//! plain notation unless the exponent is below -4 or the number has more than 15 trailing zeros
//! (`1e+17`-style exponents otherwise, at least two exponent digits). NaN prints as null and
//! ±infinity as ±`f64::MAX`.

use jaq_json::{Num, Val};
use serde_json::{Map, Number, Value};

/// How deep an input or output value may nest before conversion refuses it.
pub const MAX_DEPTH: usize = 512;

/// The conversion hit [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

/// Convert a JSON value into a jaq value.
pub fn to_val(v: &Value) -> Result<Val, TooDeep> {
    to_val_depth(v, 0)
}

fn to_val_depth(v: &Value, depth: usize) -> Result<Val, TooDeep> {
    if depth > MAX_DEPTH {
        return Err(TooDeep);
    }
    Ok(match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => num_to_val(n),
        Value::String(s) => Val::from(s.clone()),
        Value::Array(a) => {
            let items =
                a.iter().map(|x| to_val_depth(x, depth + 1)).collect::<Result<Vec<_>, _>>()?;
            Val::Arr(items.into())
        }
        Value::Object(o) => {
            let mut map = jaq_json::Map::with_capacity_and_hasher(o.len(), Default::default());
            for (k, x) in o {
                map.insert(Val::from(k.clone()), to_val_depth(x, depth + 1)?);
            }
            Val::obj(map)
        }
    })
}

/// Convert a JSON number (its literal text) into a jaq number value.
pub fn num_to_val(n: &Number) -> Val {
    literal_to_val(n.as_str())
}

/// A number literal (JSON number syntax) as a jaq value that keeps it: `Int` for an integer
/// that fits, `BigInt` for a longer one, `Dec` (the text as written) for anything else,
/// including `-0`.
pub fn literal_to_val(text: &str) -> Val {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let integral = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if integral
        && text != "-0"
        && let Some(n) = Num::from_str_radix(text, 10)
    {
        return Val::Num(n);
    }
    Val::Num(Num::Dec(jaq_json::Rc::new(text.to_owned())))
}

/// A computed double as jq prints it, as a JSON number: NaN → null, ±inf → ±`f64::MAX`, and
/// jq's digits otherwise (`1e+17`, `0.30000000000000004`).
pub fn f64_to_json(f: f64) -> Value {
    if f.is_nan() {
        return Value::Null;
    }
    let mut text = String::new();
    fmt_f64(&mut text, f);
    Value::Number(Number::from_string_unchecked(text))
}

/// A number literal's text as JSON, in jq's canonical spelling.
pub fn literal_to_json(text: &str) -> Value {
    Value::Number(Number::from_string_unchecked(canonical_literal(text).into_owned()))
}

/// Spell a number literal the way jq 1.8.2 prints it: decNumber's to-scientific-string of the
/// literal (coefficient and exponent as written, leading zeros dropped). Plain notation when the
/// exponent is at most 0 and the adjusted exponent at least -6 (`1.0`, `1.10`, `0.000001`,
/// `-0`), scientific otherwise (`1E+2`, `1.5E+3`, `1E-7`, `0E+5`). Texts already in that form
/// (the usual case: no exponent, no long run of leading zeros) are returned as they are.
pub fn canonical_literal(text: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let plain = !text.starts_with('+')
        && !body.bytes().any(|b| b == b'e' || b == b'E')
        && !body.starts_with("0.000000")
        && !body.starts_with('.')
        && !body.ends_with('.')
        && !(body.len() > 1 && body.starts_with('0') && !body.starts_with("0."));
    if plain {
        return Cow::Borrowed(text);
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, "0"),
    };
    let exp: i64 = {
        let (eneg, edigits) = match exp.as_bytes().first() {
            Some(b'-') => (true, &exp[1..]),
            Some(b'+') => (false, &exp[1..]),
            _ => (false, exp),
        };
        let mut e: i64 = 0;
        for b in edigits.bytes() {
            e = e.saturating_mul(10).saturating_add(i64::from(b.wrapping_sub(b'0')));
        }
        if eneg { -e } else { e }
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut coeff: String = int.chars().chain(frac.chars()).skip_while(|c| *c == '0').collect();
    if coeff.is_empty() {
        coeff.push('0');
    }
    let e = exp.saturating_sub(frac.len() as i64);
    let n = coeff.len() as i64;
    let adjusted = e.saturating_add(n - 1);
    let mut out = String::with_capacity(coeff.len() + 8);
    if neg {
        out.push('-');
    }
    if e <= 0 && adjusted >= -6 {
        let point = n + e;
        if e == 0 {
            out.push_str(&coeff);
        } else if point > 0 {
            out.push_str(&coeff[..point as usize]);
            out.push('.');
            out.push_str(&coeff[point as usize..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&coeff);
        }
    } else {
        out.push_str(&coeff[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&coeff[1..]);
        }
        out.push('E');
        out.push(if adjusted < 0 { '-' } else { '+' });
        out.push_str(&adjusted.unsigned_abs().to_string());
    }
    Cow::Owned(out)
}

/// Canonicalise every number literal inside `v` in place (see [`canonical_literal`]).
pub fn canonicalize_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let std::borrow::Cow::Owned(c) = canonical_literal(n.as_str()) {
                *n = Number::from_string_unchecked(c);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(canonicalize_numbers),
        Value::Object(o) => o.values_mut().for_each(canonicalize_numbers),
        _ => {}
    }
}

fn val_f64(v: &Val) -> f64 {
    jaq_std::ValT::as_f64(v).unwrap_or(f64::NAN)
}

/// Convert a jaq value back into JSON.
pub fn from_val(v: &Val) -> Result<Value, TooDeep> {
    from_val_depth(v, 0)
}

fn from_val_depth(v: &Val, depth: usize) -> Result<Value, TooDeep> {
    if depth > MAX_DEPTH {
        return Err(TooDeep);
    }
    Ok(match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(Num::Int(i)) => Value::Number(Number::from(*i as i64)),
        Val::Num(Num::BigInt(i)) => Value::Number(Number::from_string_unchecked(i.to_string())),
        Val::Num(Num::Dec(d)) => literal_to_json(d),
        Val::Num(_) => f64_to_json(val_f64(v)),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(a) => {
            Value::Array(a.iter().map(|x| from_val_depth(x, depth + 1)).collect::<Result<_, _>>()?)
        }
        Val::Obj(o) => {
            let mut map = Map::with_capacity(o.len());
            for (k, x) in o.iter() {
                map.insert(key_string(k), from_val_depth(x, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

fn key_string(k: &Val) -> String {
    match k {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            let mut s = String::new();
            write_json(&mut s, other, 0);
            s
        }
    }
}

/// Format a double exactly like jq 1.8.2 (`jvp_dtoa_fmt` after clamping infinities).
pub fn fmt_f64(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("null");
        return;
    }
    let f = f.clamp(-f64::MAX, f64::MAX);
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d[.ddd]e[-]x`.
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let decpt = exp + 1;
    let nd = digits.len() as i32;
    if f < 0.0 {
        out.push('-');
    }
    if decpt <= -4 || decpt > nd + 15 {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        let e = decpt - 1;
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt >= nd {
        out.push_str(&digits);
        for _ in nd..decpt {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
}

/// Format a jaq number like jq 1.8.2: literals in their canonical spelling, computed doubles
/// with jq's digits.
pub fn fmt_num(out: &mut String, v: &Val) {
    match v {
        Val::Num(Num::Int(i)) => out.push_str(&i.to_string()),
        Val::Num(Num::BigInt(i)) => out.push_str(&i.to_string()),
        Val::Num(Num::Dec(d)) => out.push_str(&canonical_literal(d)),
        _ => fmt_f64(out, val_f64(v)),
    }
}

/// Write a JSON string literal the way jq does.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        push_escaped(out, c);
    }
    out.push('"');
}

/// One character of a JSON (and jq) string literal, escaped where it must be.
pub fn push_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push(c),
    }
}

/// Serialize a jaq value as compact JSON text, like jq's `tojson`.
pub fn write_json(out: &mut String, v: &Val, depth: usize) {
    if depth > MAX_DEPTH * 4 {
        out.push_str("<skipped: too deep>");
        return;
    }
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(_) => fmt_num(out, v),
        Val::TStr(b) | Val::BStr(b) => write_str(out, &String::from_utf8_lossy(b)),
        Val::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, x, depth + 1);
            }
            out.push(']');
        }
        Val::Obj(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Val::TStr(b) | Val::BStr(b) => write_str(out, &String::from_utf8_lossy(b)),
                    other => {
                        let mut s = String::new();
                        write_json(&mut s, other, depth + 1);
                        write_str(out, &s);
                    }
                }
                out.push(':');
                write_json(out, x, depth + 1);
            }
            out.push('}');
        }
    }
}

/// jq's `tostring`: strings unchanged, everything else as JSON text.
pub fn to_string(v: &Val) -> String {
    match v {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        _ => {
            let mut s = String::new();
            write_json(&mut s, v, 0);
            s
        }
    }
}

/// Shorten a value's JSON text the way jq 1.8.2 does in error messages (`jv_dump_string_trunc`
/// with 30 bytes): past 29 bytes, keep 26 (25 for a string, array or object, whose closing
/// delimiter is put back), cut at a character boundary, and mark the cut with `...`.
pub fn truncate_for_error(text: &mut String) {
    if text.len() <= 29 {
        return;
    }
    let close = match text.as_bytes()[0] {
        b'"' => Some('"'),
        b'[' => Some(']'),
        b'{' => Some('}'),
        _ => None,
    };
    let mut cut = if close.is_some() { 25 } else { 26 };
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str("...");
    text.extend(close);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        let mut s = String::new();
        fmt_f64(&mut s, x);
        s
    }

    #[test]
    fn doubles_print_like_jq() {
        assert_eq!(f(5.0), "5");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(-2.25), "-2.25");
        assert_eq!(f(1e17), "1e+17");
        assert_eq!(f(1e15), "1000000000000000");
        assert_eq!(f(123e15), "123000000000000000");
        assert_eq!(f(1e300), "1e+300");
        assert_eq!(f(1.5e300), "1.5e+300");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(f64::INFINITY), "1.7976931348623157e+308");
        assert_eq!(f(f64::NEG_INFINITY), "-1.7976931348623157e+308");
        assert_eq!(f(f64::NAN), "null");
        assert_eq!(f(3.0 / 7.0), "0.42857142857142855");
        assert_eq!(f(123456.789), "123456.789");
    }

    #[test]
    fn output_numbers_follow_jq_py() {
        assert_eq!(f64_to_json(2.0), serde_json::json!(2));
        assert_eq!(f64_to_json(f64::NAN), Value::Null);
        assert_eq!(f64_to_json(f64::INFINITY), serde_json::json!(f64::MAX));
        assert_eq!(f64_to_json(0.5), serde_json::json!(0.5));
    }

    #[test]
    fn round_trip_and_depth_cap() {
        let v = serde_json::json!({"a": [1, 2.5, "x", null, true, {"b": {}}]});
        assert_eq!(from_val(&to_val(&v).unwrap()).unwrap(), v);
        let mut deep = Value::Null;
        for _ in 0..(MAX_DEPTH + 2) {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(to_val(&deep), Err(TooDeep));
    }

    #[test]
    fn literals_print_in_decnumbers_canonical_form() {
        for (text, want) in [
            ("1.0", "1.0"),
            ("1.10", "1.10"),
            ("100", "100"),
            ("-0", "-0"),
            ("1e2", "1E+2"),
            ("1E+2", "1E+2"),
            ("1.5e3", "1.5E+3"),
            ("123.456e1", "1234.56"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1E-7"),
            ("12e-7", "0.0000012"),
            ("0e5", "0E+5"),
            ("1e-0", "1"),
            ("10e0", "10"),
            ("00012", "12"),
            ("+5", "5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e1000", "1E+1000"),
            ("100000000000000000001", "100000000000000000001"),
        ] {
            assert_eq!(canonical_literal(text), want, "{text}");
        }
    }

    #[test]
    fn strings_escape_like_jq() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\\n\u{1}\u{7f}é<");
        assert_eq!(s, r#""a\"b\\\n\u0001\u007fé<""#);
    }
}
