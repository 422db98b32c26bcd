//! Native filters of the compatibility layer (see `prelude.jq` for how they are bound).

use super::value;
use jaq_core::box_iter::box_once;
use jaq_core::native::{Fun, bome, run, v};
use jaq_core::{DataT, Error, Exn};
use jaq_json::{Num, Val};

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
fn describe(v: &Val) -> String {
    let mut text = String::new();
    value::write_json(&mut text, v, 0);
    if text.len() > 29 {
        let mut cut = 26;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    format!("{} ({text})", type_name(v))
}

fn err(msg: String) -> Error<Val> {
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
    let mut integral = true;
    if i < b.len() && b[i] == b'.' {
        integral = false;
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
        integral = false;
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
    if let Some(n) = integral.then(|| t.trim_start_matches('+').parse::<isize>().ok()).flatten() {
        return Some(Val::Num(Num::Int(n)));
    }
    t.trim_start_matches('+').parse::<f64>().ok().map(|f| Val::Num(Num::Float(f)))
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

/// Delete one path, keeping the order of the remaining object keys.
fn delpath(v: Val, path: &[Val]) -> Result<Val, Error<Val>> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(Val::Null);
    };
    match (v, first) {
        (Val::Null, _) => Ok(Val::Null),
        (Val::Obj(mut o), k @ (Val::TStr(_) | Val::BStr(_))) => {
            let map = jaq_json::Rc::make_mut(&mut o);
            if rest.is_empty() {
                map.shift_remove(k);
            } else if let Some(child) = map.get_mut(k) {
                let taken = std::mem::take(child);
                *child = delpath(taken, rest)?;
            }
            Ok(Val::Obj(o))
        }
        (Val::Arr(mut a), Val::Num(n)) => {
            let len = a.len() as isize;
            let Some(i) = jaq_std::ValT::as_f64(&Val::Num(n.clone())).map(|f| f.floor() as isize)
            else {
                return Ok(Val::Arr(a));
            };
            let i = if i < 0 { i + len } else { i };
            if i < 0 {
                return Err(err("Out of bounds negative array index".into()));
            }
            if i >= len {
                return Ok(Val::Arr(a));
            }
            let vec = jaq_json::Rc::make_mut(&mut a);
            if rest.is_empty() {
                vec.remove(i as usize);
            } else {
                let taken = std::mem::take(&mut vec[i as usize]);
                vec[i as usize] = delpath(taken, rest)?;
            }
            Ok(Val::Arr(a))
        }
        (v, k) => {
            Err(err(format!("Cannot delete field at index {} of {}", describe(k), type_name(&v))))
        }
    }
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
        (v, k) => Err(err(match k {
            Val::TStr(_) | Val::BStr(_) => {
                format!("Cannot index {} with \"{}\"", type_name(&v), value::to_string(k))
            }
            Val::Num(_) => format!("Cannot index {} with number", type_name(&v)),
            _ => format!("Cannot update field at {} of {}", describe(k), type_name(&v)),
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
        ("_jq_delpath", v(1), |mut cv| {
            let path = cv.0.pop_var();
            let r = match path {
                Val::Arr(p) => delpath(cv.1, &p),
                other => Err(err(format!(
                    "Path must be specified as an array, not {}",
                    type_name(&other)
                ))),
            };
            box_once(r.map_err(Exn::from))
        }),
    ])
}
