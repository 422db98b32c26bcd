//! Native filters of the compatibility layer (see `prelude.jq` for how they are bound).

use super::value;
use jaq_core::box_iter::box_once;
use jaq_core::native::{Fun, bome, run, v};
use jaq_core::{DataT, Error, Exn};
use jaq_json::Val;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

fn s(v: String) -> Val {
    Val::from(v)
}

fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Num(_) => "number",
        Val::TStr(_) | Val::BStr(_) => "string",
        Val::Arr(_) => "array",
        Val::Obj(_) => "object",
    }
}

/// jq's `type (value)` rendering used in error messages, truncated like jq.
pub(super) fn describe(v: &Val) -> String {
    let mut text = String::new();
    value::write_json(&mut text, v, 0);
    value::truncate_for_error(&mut text);
    format!("{} ({text})", type_name(v))
}

pub(super) fn err(msg: String) -> Error<Val> {
    Error::new(Val::from(msg))
}

/// `tonumber` with jq 1.8's strictness: no whitespace, one number, nothing else.
pub(super) fn tonumber(v: Val) -> Result<Val, Error<Val>> {
    let text = match &v {
        Val::Num(_) => return Ok(v),
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        _ => return Err(err(format!("{} cannot be parsed as a number", describe(&v)))),
    };
    parse_number(&text).ok_or_else(|| err(format!("{} cannot be parsed as a number", describe(&v))))
}

fn parse_number(t: &str) -> Option<Val> {
    // decNumber's special values, any case, with a sign.
    let (sign, word) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    match word.to_ascii_lowercase().as_str() {
        "nan" | "snan" => return Some(Val::Num(jaq_json::Num::Float(f64::NAN))),
        "inf" | "infinity" => return Some(Val::Num(jaq_json::Num::Float(sign * f64::INFINITY))),
        _ => {}
    }
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    // jq 1.8 keeps the text as the number's literal.
    Some(value::literal_to_val(t))
}

fn csv_tsv(v: &Val, csv: bool) -> Result<Val, Error<Val>> {
    let name = if csv { "csv" } else { "tsv" };
    let Val::Arr(a) = v else {
        return Err(err(format!(
            "{} cannot be {name}-formatted, only an array can be",
            describe(v)
        )));
    };
    let mut out = String::new();
    for (i, x) in a.iter().enumerate() {
        if i > 0 {
            out.push(if csv { ',' } else { '\t' });
        }
        match x {
            Val::Null => {}
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Num(_) => value::fmt_num(&mut out, x),
            Val::TStr(b) | Val::BStr(b) => {
                let text = String::from_utf8_lossy(b);
                if csv {
                    out.push('"');
                    out.push_str(&text.replace('"', "\"\""));
                    out.push('"');
                } else {
                    for c in text.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '\t' => out.push_str("\\t"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            c => out.push(c),
                        }
                    }
                }
            }
            _ => return Err(err(format!("{} is not valid in a {name} row", describe(x)))),
        }
    }
    Ok(s(out))
}

fn base64_decode(v: &Val) -> Result<Val, Error<Val>> {
    let (Val::TStr(b) | Val::BStr(b)) = v else {
        return Err(err(format!("{} cannot be decoded from base64", describe(v))));
    };
    let mut out = Vec::with_capacity(b.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut n = 0usize;
    for &c in b.iter() {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Err(err(format!("{} is not valid base64 data", describe(v)))),
        };
        n += 1;
        acc = (acc << 6) | u32::from(d);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if n % 4 == 1 {
        return Err(err(format!("{} trailing base64 byte found", describe(v))));
    }
    Ok(s(String::from_utf8_lossy(&out).into_owned()))
}

/// `delpaths`: delete every path at once, keeping the order of the remaining object keys.
///
/// Like jq, array indices and slices are resolved against the array as it was before any
/// deletion (so `del(.[1], .[-6])` removes two original elements), indices out of range are
/// ignored, and deleting the empty path gives null.
fn delpaths(v: Val, paths: &[&[Val]]) -> Result<Val, Error<Val>> {
    if paths.is_empty() {
        return Ok(v);
    }
    if paths.iter().any(|p| p.is_empty()) {
        return Ok(Val::Null);
    }
    match v {
        Val::Null => Ok(Val::Null),
        Val::Obj(mut o) => {
            let map = jaq_json::Rc::make_mut(&mut o);
            let mut done: Vec<&Val> = Vec::new();
            for p in paths {
                let k = &p[0];
                if !matches!(k, Val::TStr(_) | Val::BStr(_)) {
                    return Err(err(format!("Cannot delete {} field of object", type_name(k))));
                }
                if done.contains(&k) {
                    continue;
                }
                done.push(k);
                let below: Vec<&[Val]> =
                    paths.iter().filter(|q| &q[0] == k).map(|q| &q[1..]).collect();
                if below.iter().any(|r| r.is_empty()) {
                    map.shift_remove(k);
                } else if let Some(child) = map.get_mut(k) {
                    let taken = std::mem::take(child);
                    *child = delpaths(taken, &below)?;
                }
            }
            Ok(Val::Obj(o))
        }
        Val::Arr(mut a) => {
            let len = a.len();
            let mut remove = vec![false; len];
            let mut nested: Vec<(usize, &[Val])> = Vec::new();
            for p in paths {
                match &p[0] {
                    Val::Num(_) => {
                        let Some(i) = array_index(&p[0], len) else { continue };
                        if p.len() == 1 {
                            remove[i] = true;
                        } else {
                            nested.push((i, &p[1..]));
                        }
                    }
                    Val::Obj(slice) if p.len() == 1 => {
                        let bound = |name: &str| slice.get(&Val::from(name.to_string())).cloned();
                        let (from, to) = slice_bounds(bound("start"), bound("end"), len);
                        remove[from..to].iter_mut().for_each(|r| *r = true);
                    }
                    k => {
                        return Err(err(format!(
                            "Cannot delete {} element of array",
                            type_name(k)
                        )));
                    }
                }
            }
            let vec = jaq_json::Rc::make_mut(&mut a);
            let mut seen: Vec<usize> = Vec::new();
            for &(i, _) in &nested {
                if remove[i] || seen.contains(&i) {
                    continue;
                }
                seen.push(i);
                let below: Vec<&[Val]> =
                    nested.iter().filter(|(j, _)| *j == i).map(|(_, r)| *r).collect();
                let taken = std::mem::take(&mut vec[i]);
                vec[i] = delpaths(taken, &below)?;
            }
            let mut n = 0;
            vec.retain(|_| {
                n += 1;
                !remove[n - 1]
            });
            Ok(Val::Arr(a))
        }
        v => Err(err(format!("Cannot delete fields from {}", type_name(&v)))),
    }
}

/// A number as an index into an array of `len` (negative counts from the end); `None` when
/// it is out of range or not a number.
fn array_index(k: &Val, len: usize) -> Option<usize> {
    let f = jaq_std::ValT::as_f64(k)?;
    if f.is_nan() {
        return None;
    }
    let i = f.floor();
    let i = if i < 0.0 { i + len as f64 } else { i };
    (i >= 0.0 && i < len as f64).then_some(i as usize)
}

/// jq's slice bounds: null is the start or end, negatives count from the end, fractional
/// starts round down and ends round up, and both are clamped to the array.
fn slice_bounds(start: Option<Val>, end: Option<Val>, len: usize) -> (usize, usize) {
    let resolve = |v: Option<Val>, default: f64, up: bool| {
        let f = match v {
            Some(v @ Val::Num(_)) => jaq_std::ValT::as_f64(&v).unwrap_or(default),
            _ => default,
        };
        let f = if f < 0.0 { f + len as f64 } else { f };
        let f = if up { f.ceil() } else { f.floor() };
        f.clamp(0.0, len as f64) as usize
    };
    let from = resolve(start, 0.0, false);
    let to = resolve(end, len as f64, true);
    (from, to.max(from))
}

/// Compiled regexes by (pattern, flags): mappings run the same few expressions on every item.
static REGEXES: LazyLock<Mutex<HashMap<(String, String), regex::Regex>>> =
    LazyLock::new(Default::default);

/// At most this many compiled regexes are cached (the cache is cleared when full).
const REGEX_CACHE: usize = 256;

fn val_str(v: &Val) -> Option<String> {
    match v {
        Val::TStr(b) | Val::BStr(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// The regex for `re` with jq's flags (`g` and `n` are handled by the caller).
fn regex_for(re: &str, flags: &str) -> Result<regex::Regex, Error<Val>> {
    let key = (re.to_owned(), flags.to_owned());
    let mut cache = REGEXES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = cache.get(&key) {
        return Ok(r.clone());
    }
    let mut b = regex::RegexBuilder::new(re);
    for c in flags.chars() {
        match c {
            'g' | 'n' | 'l' => {}
            'i' => {
                b.case_insensitive(true);
            }
            'x' => {
                b.ignore_whitespace(true);
            }
            // Oniguruma's MULTILINE: `.` also matches a newline.
            'm' | 'p' | 's' => {
                b.dot_matches_new_line(c != 's');
            }
            _ => return Err(err(format!("{flags} is not a valid modifier string"))),
        }
    }
    let r = b.build().map_err(|e| err(format!("Regex failure: {e}")))?;
    if cache.len() >= REGEX_CACHE {
        cache.clear();
    }
    cache.insert(key, r.clone());
    Ok(r)
}

/// jq's `_match_impl`: every match of `re` in the input (the first unless `g`) as jq's match
/// objects, with offsets and lengths in codepoints and groups that did not take part as
/// `{"offset": -1, "length": 0, "string": null}`; in test mode, whether there is a match.
fn match_impl(input: &Val, re: &Val, flags: &Val, test: bool) -> Result<Val, Error<Val>> {
    let Some(text) = val_str(input) else {
        return Err(err(format!("{} cannot be matched, as it is not a string", describe(input))));
    };
    let Some(re) = val_str(re) else {
        return Err(err(format!("{} is not a string", describe(re))));
    };
    let flags = match flags {
        Val::Null => String::new(),
        f => val_str(f).ok_or_else(|| err(format!("{} is not a string", describe(f))))?,
    };
    let regex = regex_for(&re, &flags)?;
    let global = flags.contains('g');
    let not_empty = flags.contains('n') || flags.contains('p');
    let names: Vec<Option<&str>> = regex.capture_names().skip(1).collect();
    // Codepoint offset of every byte offset that starts a char (and of the end).
    let cp = |byte: usize| text[..byte].chars().count();
    let obj = |pairs: Vec<(&str, Val)>| {
        Val::obj(pairs.into_iter().map(|(k, v)| (Val::from(k.to_string()), v)).collect())
    };
    let num = |n: isize| Val::from(n);
    let mut out = Vec::new();
    let mut start = 0;
    while start <= text.len() {
        let Some(caps) = regex.captures_at(&text, start) else { break };
        let m = caps.get(0).expect("group 0 always takes part");
        start = if m.is_empty() {
            m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8)
        } else {
            m.end()
        };
        if not_empty && m.is_empty() {
            if !global {
                break;
            }
            continue;
        }
        if test {
            return Ok(Val::Bool(true));
        }
        let captures = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let name = name.map_or(Val::Null, |n| Val::from(n.to_string()));
                match caps.get(i + 1) {
                    Some(g) => obj(vec![
                        ("offset", num(cp(g.start()) as isize)),
                        ("length", num(g.as_str().chars().count() as isize)),
                        ("string", Val::from(g.as_str().to_string())),
                        ("name", name),
                    ]),
                    None => obj(vec![
                        ("offset", num(-1)),
                        ("length", num(0)),
                        ("string", Val::Null),
                        ("name", name),
                    ]),
                }
            })
            .collect::<Vec<_>>();
        out.push(obj(vec![
            ("offset", num(cp(m.start()) as isize)),
            ("length", num(m.as_str().chars().count() as isize)),
            ("string", Val::from(m.as_str().to_string())),
            ("captures", Val::Arr(captures.into())),
        ]));
        if !global {
            break;
        }
    }
    Ok(if test { Val::Bool(false) } else { Val::Arr(out.into()) })
}

/// `@urid`: percent-decoding that must give valid UTF-8 (jq 1.8's strictness).
fn urid(v: &Val) -> Result<Val, Error<Val>> {
    let invalid = || err(format!("{} is not a valid uri encoding", describe(v)));
    let Some(text) = val_str(v) else {
        return Err(err(format!("{} cannot be decoded as a uri", describe(v))));
    };
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or_else(invalid)?;
            let hex = std::str::from_utf8(hex).map_err(|_| invalid())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| invalid())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map(s).map_err(|_| invalid())
}

/// jq 1.8.2's wording for an error jaq raised in its core, when `msg` is one: indexing
/// (`cannot index 1 with "a"` → `Cannot index number with string ("a")`) and iteration
/// (`cannot use 123 as iterable (array or object)` → `Cannot iterate over number (123)`).
pub(super) fn jq_wording(msg: &str) -> Option<String> {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    let val = |v: &serde_json::Value| value::to_val(v).ok();
    if let Some(v) = msg
        .strip_prefix("cannot use ")
        .and_then(|m| m.strip_suffix(" as iterable (array or object)"))
    {
        return Some(format!("Cannot iterate over {}", describe(&val(&parse(v)?)?)));
    }
    let rest = msg.strip_prefix("cannot index ")?;
    // The value's JSON text may itself contain " with ": try every split.
    rest.match_indices(" with ").find_map(|(i, sep)| {
        let (l, r) = (parse(&rest[..i])?, parse(&rest[i + sep.len()..])?);
        Some(format!("Cannot index {} with {}", type_name(&val(&l)?), describe(&val(&r)?)))
    })
}

/// `trim` (mode 0), `ltrim` (1), `rtrim` (2): Unicode whitespace, strings only.
fn trim(v: &Val, mode: &Val) -> Result<Val, Error<Val>> {
    let (Val::TStr(b) | Val::BStr(b)) = v else {
        return Err(err("trim input must be a string".into()));
    };
    let text = String::from_utf8_lossy(b);
    // jq trims Unicode White_Space (ASCII controls, U+0085, U+00A0, U+2000–U+200A, U+3000, ...).
    let ws = char::is_whitespace;
    let out = match jaq_std::ValT::as_f64(mode).unwrap_or(0.0) as u8 {
        1 => text.trim_start_matches(ws),
        2 => text.trim_end_matches(ws),
        _ => text.trim_matches(ws),
    };
    Ok(s(out.to_owned()))
}

/// Set one path, creating objects and arrays through null like jq (arrays pad with null).
fn setpath(v: Val, path: &[Val], x: Val, depth: usize) -> Result<Val, Error<Val>> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(x);
    };
    if depth > value::MAX_DEPTH * 4 {
        return Err(err("path too deep".into()));
    }
    match (v, first) {
        (v @ (Val::Null | Val::Obj(_)), k @ (Val::TStr(_) | Val::BStr(_))) => {
            let mut o = match v {
                Val::Obj(o) => o,
                _ => jaq_json::Rc::new(Default::default()),
            };
            let map = jaq_json::Rc::make_mut(&mut o);
            let child = map.get_mut(k).map(std::mem::take).unwrap_or(Val::Null);
            let new = setpath(child, rest, x, depth + 1)?;
            map.insert(k.clone(), new);
            Ok(Val::Obj(o))
        }
        (v @ (Val::Null | Val::Arr(_)), Val::Num(n)) => {
            let mut a = match v {
                Val::Arr(a) => a,
                _ => jaq_json::Rc::new(Vec::new()),
            };
            let f = jaq_std::ValT::as_f64(&Val::Num(n.clone())).unwrap_or(f64::NAN);
            if f.is_nan() {
                return Err(err("Cannot set array element at NaN index".into()));
            }
            let i = f.floor() as i64;
            let i = if i < 0 { i + a.len() as i64 } else { i };
            if i < 0 {
                return Err(err("Out of bounds negative array index".into()));
            }
            if i > 100_000_000 {
                return Err(err("Array index too large".into()));
            }
            let i = i as usize;
            let vec = jaq_json::Rc::make_mut(&mut a);
            if vec.len() <= i {
                vec.resize(i + 1, Val::Null);
            }
            let child = std::mem::take(&mut vec[i]);
            vec[i] = setpath(child, rest, x, depth + 1)?;
            Ok(Val::Arr(a))
        }
        // A slice of an array (or null) takes an array.
        (v @ (Val::Null | Val::Arr(_)), Val::Obj(slice)) if rest.is_empty() => {
            let mut a = match v {
                Val::Arr(a) => a,
                _ => jaq_json::Rc::new(Vec::new()),
            };
            let Val::Arr(new) = x else {
                return Err(err("A slice of an array can only be assigned another array".into()));
            };
            let bound = |name: &str| slice.get(&Val::from(name.to_string())).cloned();
            let (from, to) = slice_bounds(bound("start"), bound("end"), a.len());
            jaq_json::Rc::make_mut(&mut a).splice(from..to, new.iter().cloned());
            Ok(Val::Arr(a))
        }
        (Val::TStr(_) | Val::BStr(_), Val::Obj(_)) => {
            Err(err("Cannot update string slices".into()))
        }
        // jq reads before it writes: a key that cannot even index the value fails as a read.
        (v, k) => Err(err(match (&v, k) {
            (Val::Arr(_), Val::Obj(_) | Val::Arr(_)) | (Val::Null, Val::Obj(_)) => {
                format!("Cannot update field at {} index of {}", type_name(k), type_name(&v))
            }
            _ => format!("Cannot index {} with {}", type_name(&v), describe(k)),
        })),
    }
}

fn to_valx<'a>(r: Result<Val, Error<Val>>) -> jaq_core::ValXs<'a, Val> {
    bome(r)
}

/// Every native filter of the compatibility layer.
pub(super) fn funs<D: for<'a> DataT<V<'a> = Val>>() -> impl Iterator<Item = Fun<D>> {
    base().into_vec().into_iter().map(run)
}

fn base<D: for<'a> DataT<V<'a> = Val>>() -> Box<[jaq_core::native::Filter<jaq_core::RunPtr<D>>]> {
    Box::new([
        ("_jq_tostring", v(0), |cv| to_valx(Ok(s(value::to_string(&cv.1))))),
        ("@jqtext", v(0), |cv| to_valx(Ok(s(value::to_string(&cv.1))))),
        ("_jq_tojson", v(0), |cv| {
            let mut out = String::new();
            value::write_json(&mut out, &cv.1, 0);
            to_valx(Ok(s(out)))
        }),
        ("_jq_tonumber", v(0), |cv| to_valx(tonumber(cv.1))),
        ("@csv", v(0), |cv| to_valx(csv_tsv(&cv.1, true))),
        ("@tsv", v(0), |cv| to_valx(csv_tsv(&cv.1, false))),
        ("_jq_base64d", v(0), |cv| to_valx(base64_decode(&cv.1))),
        ("_jq_setpath", v(2), |mut cv| {
            let x = cv.0.pop_var();
            let path = cv.0.pop_var();
            let r = match path {
                Val::Arr(p) => setpath(cv.1, &p, x, 0),
                other => Err(err(format!(
                    "Path must be specified as an array, not {}",
                    type_name(&other)
                ))),
            };
            box_once(r.map_err(Exn::from))
        }),
        ("_jq_delpaths", v(1), |mut cv| {
            let paths = cv.0.pop_var();
            let r = match &paths {
                Val::Arr(ps) => ps
                    .iter()
                    .map(|p| match p {
                        Val::Arr(p) => Ok(&p[..]),
                        other => Err(err(format!(
                            "Path must be specified as an array, not {}",
                            type_name(other)
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .and_then(|ps| delpaths(cv.1, &ps)),
                _ => Err(err("Paths must be specified as an array".into())),
            };
            box_once(r.map_err(Exn::from))
        }),
        ("_jq_trim", v(1), |mut cv| {
            let mode = cv.0.pop_var();
            to_valx(trim(&cv.1, &mode))
        }),
        ("_jq_describe", v(0), |cv| to_valx(Ok(s(describe(&cv.1))))),
        ("_jq_urid", v(0), |cv| to_valx(urid(&cv.1))),
        ("_jq_arith", v(3), |mut cv| {
            let op = cv.0.pop_var();
            let r = cv.0.pop_var();
            let l = cv.0.pop_var();
            let op = jaq_std::ValT::as_f64(&op).unwrap_or(0.0) as u8;
            to_valx(super::arith::math(l, r, op))
        }),
        ("_jq_neg", v(0), |cv| to_valx(super::arith::neg(cv.1))),
        ("_jq_errmsg", v(0), |cv| {
            let msg = match &cv.1 {
                Val::TStr(b) | Val::BStr(b) => jq_wording(&String::from_utf8_lossy(b)),
                _ => None,
            };
            to_valx(Ok(msg.map_or(cv.1, s)))
        }),
        ("_jq_timegm", v(1), |mut cv| {
            let strict = matches!(cv.0.pop_var(), Val::Bool(true));
            to_valx(super::time::mktime(&cv.1, strict))
        }),
        ("_jq_gmtz", v(0), |cv| {
            to_valx(Ok(match &cv.1 {
                Val::TStr(b) | Val::BStr(b) => {
                    s(super::time::gmt_zone(&String::from_utf8_lossy(b)))
                }
                other => other.clone(),
            }))
        }),
        ("_jq_strptime", v(1), |mut cv| {
            let fmt = cv.0.pop_var();
            to_valx(super::time::strptime(&cv.1, &fmt).unwrap_or(Ok(Val::Null)))
        }),
        ("_jq_match", v(3), |mut cv| {
            let test = cv.0.pop_var();
            let flags = cv.0.pop_var();
            let re = cv.0.pop_var();
            to_valx(match_impl(&cv.1, &re, &flags, matches!(test, Val::Bool(true))))
        }),
    ])
}
