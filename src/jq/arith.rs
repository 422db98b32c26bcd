//! jq 1.8.2 arithmetic on top of jaq.
//!
//! jaq's `+ - * / %` and unary `-` differ from jq in a few places mappings can meet: string
//! repetition (`"ab" * 2.5`, `3 * "ab"`, `"ab" * 0`), division by zero (an error in jq, infinity
//! in jaq), jq's integer remainder, and the wording of type errors (`string ("a") and number (1)
//! cannot be added`). jaq evaluates these operators in its core, out of reach of a prelude, so
//! [`rewrite`] prints the parsed program back to jq text with every arithmetic operator replaced
//! by a call to `_jq_math` (prelude) and `_jq_neg`, which run [`math`] and [`neg`], and every
//! `catch` handler fed through `_jq_errmsg`, which words jaq's core indexing and iteration errors
//! like jq. Everything else is printed unchanged (fully parenthesised), so the program means the
//! same.

use super::funs::{describe, err};
use jaq_core::Error;
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::ops::Math;
use jaq_core::path::{Opt, Part};
use jaq_json::{Num, Val};
use std::fmt::Write;

/// The program with jq's arithmetic and error wording in `catch`, or `None` when it has neither
/// arithmetic nor a `catch` handler, or does not parse as a single term (module directives); it
/// then runs unchanged.
pub fn rewrite(src: &str) -> Option<String> {
    let term: Term<&str> = jaq_core::load::parse(src, |p| p.term())?;
    if !needs_rewrite(&term) {
        return None;
    }
    let mut out = String::with_capacity(src.len() * 2);
    print(&term, &mut out);
    Some(out)
}

/// `E as [P1, P2, …] | _jq_alt_marker | B`: jq's `E as P1 ?// P2 ?// … | B` (see
/// `rewrite::ALT_MARKER`); the alternatives and the body.
fn destructure_alt<'a>(
    op: &'a BinaryOp<&'a str>,
    r: &'a Term<&'a str>,
) -> Option<(&'a [Pattern<&'a str>], &'a Term<&'a str>)> {
    let (BinaryOp::Pipe(Some(Pattern::Arr(alts))), Term::BinOp(m, BinaryOp::Pipe(None), body)) =
        (op, r)
    else {
        return None;
    };
    matches!(&**m, Term::Call(name, args) if *name == super::rewrite::ALT_MARKER && args.is_empty())
        .then_some((alts.as_slice(), &**body))
}

/// Every variable a pattern binds, in order.
fn pattern_vars<'a>(p: &'a Pattern<&'a str>, out: &mut Vec<&'a str>) {
    match p {
        Pattern::Var(x) => out.push(x),
        Pattern::Arr(ps) => ps.iter().for_each(|p| pattern_vars(p, out)),
        Pattern::Obj(entries) => {
            for (k, p) in entries {
                if let Term::Var(x) = k {
                    out.push(x);
                }
                pattern_vars(p, out);
            }
        }
    }
}

fn needs_rewrite(t: &Term<&str>) -> bool {
    let mut found = false;
    walk(t, &mut |t| {
        found |= match t {
            Term::BinOp(_, op, r) if destructure_alt(op, r).is_some() => true,
            Term::Neg(t) => !matches!(**t, Term::Num(_)),
            Term::BinOp(_, op, _) => matches!(
                op,
                BinaryOp::Math(_)
                    | BinaryOp::Assign
                    | BinaryOp::Update
                    | BinaryOp::UpdateMath(_)
                    | BinaryOp::UpdateAlt
            ),
            Term::TryCatch(_, Some(_)) => true,
            _ => false,
        };
    });
    found
}

/// Calls `f` on `t` and every term inside it.
fn walk<'a>(t: &'a Term<&'a str>, f: &mut impl FnMut(&'a Term<&'a str>)) {
    f(t);
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => {}
        Term::Str(_, parts) => {
            for p in parts {
                if let StrPart::Term(t) = p {
                    walk(t, f);
                }
            }
        }
        Term::Arr(a) => a.iter().for_each(|t| walk(t, f)),
        Term::Obj(entries) => {
            for (k, v) in entries {
                walk(k, f);
                v.iter().for_each(|v| walk(v, f));
            }
        }
        Term::Neg(t) | Term::Label(_, t) => walk(t, f),
        Term::BinOp(l, op, r) => {
            if let BinaryOp::Pipe(Some(p)) = op {
                walk_pattern(p, f);
            }
            walk(l, f);
            walk(r, f);
        }
        Term::Fold(_, xs, p, args) => {
            walk(xs, f);
            walk_pattern(p, f);
            args.iter().for_each(|t| walk(t, f));
        }
        Term::TryCatch(t, c) => {
            walk(t, f);
            c.iter().for_each(|c| walk(c, f));
        }
        Term::IfThenElse(branches, els) => {
            for (c, t) in branches {
                walk(c, f);
                walk(t, f);
            }
            els.iter().for_each(|e| walk(e, f));
        }
        Term::Def(defs, t) => {
            defs.iter().for_each(|d| walk(&d.body, f));
            walk(t, f);
        }
        Term::Call(_, args) => args.iter().for_each(|t| walk(t, f)),
        Term::Path(t, path) => {
            walk(t, f);
            for (part, _) in &path.0 {
                match part {
                    Part::Index(i) => walk(i, f),
                    Part::Range(a, b) => a.iter().chain(b.iter()).for_each(|t| walk(t, f)),
                }
            }
        }
    }
}

fn walk_pattern<'a>(p: &'a Pattern<&'a str>, f: &mut impl FnMut(&'a Term<&'a str>)) {
    match p {
        Pattern::Var(_) => {}
        Pattern::Arr(ps) => ps.iter().for_each(|p| walk_pattern(p, f)),
        Pattern::Obj(entries) => {
            for (k, p) in entries {
                walk(k, f);
                walk_pattern(p, f);
            }
        }
    }
}

fn op_code(op: &Math) -> u8 {
    match op {
        Math::Add => 0,
        Math::Sub => 1,
        Math::Mul => 2,
        Math::Div => 3,
        Math::Rem => 4,
    }
}

/// `f` on every item, with `sep` between them.
fn sep_by<T>(items: &[T], sep: &str, out: &mut String, mut f: impl FnMut(&T, &mut String)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        f(x, out);
    }
}

fn paren(t: &Term<&str>, out: &mut String) {
    out.push('(');
    print(t, out);
    out.push(')');
}

fn print(t: &Term<&str>, out: &mut String) {
    match t {
        Term::Id => out.push('.'),
        Term::Recurse => out.push_str(".."),
        Term::Num(n) | Term::Var(n) => out.push_str(n),
        Term::Break(x) => {
            out.push_str("break ");
            out.push_str(x);
        }
        Term::Str(fmt, parts) => {
            if let Some(f) = fmt {
                out.push_str(f);
                out.push(' ');
            }
            out.push('"');
            for p in parts {
                match p {
                    StrPart::Str(s) => out.push_str(s),
                    StrPart::Char(c) => super::value::push_escaped(out, *c),
                    StrPart::Term(t) => {
                        out.push_str("\\(");
                        print(t, out);
                        out.push(')');
                    }
                }
            }
            out.push('"');
        }
        Term::Arr(None) => out.push_str("[]"),
        Term::Arr(Some(t)) => {
            out.push('[');
            print(t, out);
            out.push(']');
        }
        Term::Obj(entries) => {
            out.push('{');
            sep_by(entries, ", ", out, |(k, v), out| match v {
                // `{$x}`, `{"a"}`: the shorthand keeps its meaning only unparenthesised.
                None => print(k, out),
                Some(v) => {
                    paren(k, out);
                    out.push_str(": ");
                    paren(v, out);
                }
            });
            out.push('}');
        }
        // A negative literal stays one.
        Term::Neg(t) if matches!(**t, Term::Num(_)) => {
            out.push('-');
            print(t, out);
        }
        Term::Neg(t) => {
            out.push('(');
            paren(t, out);
            out.push_str(" | _jq_neg)");
        }
        Term::BinOp(l, op, r) => {
            // Destructuring alternatives as jq runs them: every variable of every pattern is
            // bound (null unless its pattern matched); an error while matching an alternative
            // or running the body with it moves on to the next one, and the last one's error
            // is the result.
            if let Some((alts, body)) = destructure_alt(op, r) {
                let mut vars = Vec::new();
                alts.iter().for_each(|p| pattern_vars(p, &mut vars));
                out.push('(');
                paren(l, out);
                out.push_str(" as $__jq_alt | ");
                let mut seen = Vec::new();
                for v in vars {
                    if !seen.contains(&v) {
                        seen.push(v);
                        let _ = write!(out, "null as {v} | ");
                    }
                }
                for (i, p) in alts.iter().enumerate() {
                    let last = i + 1 == alts.len();
                    if !last {
                        out.push_str("try (");
                    }
                    out.push_str("$__jq_alt as ");
                    pattern(p, out);
                    out.push_str(" | ");
                    paren(body, out);
                    if !last {
                        out.push_str(") catch (");
                    }
                }
                out.push_str(&")".repeat(alts.len()));
                return;
            }
            if let BinaryOp::Math(m) = op {
                out.push_str("_jq_math(");
                print(l, out);
                out.push_str("; ");
                print(r, out);
                let _ = write!(out, "; {})", op_code(m));
                return;
            }
            // Assignments as jq 1.8.2 defines them (`_assign`, `_modify` over `path(l)`), so
            // they create objects and arrays through null like jq.
            let update = |out: &mut String, f: &dyn Fn(&mut String)| {
                out.push('(');
                paren(r, out);
                out.push_str(" as $__jq_rhs | _jq_modify(");
                print(l, out);
                out.push_str("; ");
                f(out);
                out.push_str("))");
            };
            match op {
                BinaryOp::Assign | BinaryOp::Update => {
                    let name =
                        if matches!(op, BinaryOp::Assign) { "_jq_assign" } else { "_jq_modify" };
                    let _ = write!(out, "{name}(");
                    print(l, out);
                    out.push_str("; ");
                    print(r, out);
                    out.push(')');
                    return;
                }
                BinaryOp::UpdateMath(m) => {
                    let code = op_code(m);
                    return update(out, &|out| {
                        let _ = write!(out, "_jq_math(.; $__jq_rhs; {code})");
                    });
                }
                BinaryOp::UpdateAlt => return update(out, &|out| out.push_str(". // $__jq_rhs")),
                _ => {}
            }
            out.push('(');
            paren(l, out);
            match op {
                BinaryOp::Pipe(None) => out.push_str(" | "),
                BinaryOp::Pipe(Some(p)) => {
                    out.push_str(" as ");
                    pattern(p, out);
                    out.push_str(" | ");
                }
                BinaryOp::Comma => out.push_str(", "),
                BinaryOp::Alt => out.push_str(" // "),
                BinaryOp::Or => out.push_str(" or "),
                BinaryOp::And => out.push_str(" and "),
                BinaryOp::Math(_) => unreachable!("handled above"),
                BinaryOp::Cmp(c) => {
                    out.push(' ');
                    out.push_str(c.as_str());
                    out.push(' ');
                }
                BinaryOp::Assign => out.push_str(" = "),
                BinaryOp::Update => out.push_str(" |= "),
                BinaryOp::UpdateMath(m) => {
                    out.push(' ');
                    out.push_str(m.as_str());
                    out.push_str("= ");
                }
                BinaryOp::UpdateAlt => out.push_str(" //= "),
            }
            paren(r, out);
            out.push(')');
        }
        Term::Label(x, t) => {
            out.push_str("(label ");
            out.push_str(x);
            out.push_str(" | ");
            paren(t, out);
            out.push(')');
        }
        Term::Fold(name, xs, p, args) => {
            out.push('(');
            out.push_str(name);
            out.push(' ');
            paren(xs, out);
            out.push_str(" as ");
            pattern(p, out);
            out.push_str(" (");
            sep_by(args, "; ", out, |a, out| print(a, out));
            out.push_str("))");
        }
        Term::TryCatch(t, c) => {
            out.push_str("(try ");
            paren(t, out);
            // The handler sees jq's wording of errors raised in jaq's core.
            if let Some(c) = c {
                out.push_str(" catch (_jq_errmsg | ");
                paren(c, out);
                out.push(')');
            }
            out.push(')');
        }
        Term::IfThenElse(branches, els) => {
            out.push('(');
            for (i, (c, t)) in branches.iter().enumerate() {
                out.push_str(if i == 0 { "if " } else { " elif " });
                print(c, out);
                out.push_str(" then ");
                print(t, out);
            }
            if let Some(e) = els {
                out.push_str(" else ");
                print(e, out);
            }
            out.push_str(" end)");
        }
        Term::Def(defs, t) => {
            out.push('(');
            for d in defs {
                def(d, out);
                out.push(' ');
            }
            print(t, out);
            out.push(')');
        }
        Term::Call(name, args) => {
            out.push_str(name);
            if !args.is_empty() {
                out.push('(');
                sep_by(args, "; ", out, |a, out| print(a, out));
                out.push(')');
            }
        }
        Term::Path(t, path) => {
            if matches!(**t, Term::Id) {
                out.push('.');
            } else {
                paren(t, out);
            }
            for (part, opt) in &path.0 {
                out.push('[');
                match part {
                    Part::Index(i) => print(i, out),
                    Part::Range(a, b) => {
                        if let Some(a) = a {
                            paren(a, out);
                        }
                        if a.is_some() || b.is_some() {
                            out.push(':');
                        }
                        if let Some(b) = b {
                            paren(b, out);
                        }
                    }
                }
                out.push(']');
                if matches!(opt, Opt::Optional) {
                    out.push('?');
                }
            }
        }
    }
}

fn def(d: &Def<&str, Term<&str>>, out: &mut String) {
    out.push_str("def ");
    out.push_str(d.name);
    if !d.args.is_empty() {
        out.push('(');
        out.push_str(&d.args.join("; "));
        out.push(')');
    }
    out.push_str(": ");
    print(&d.body, out);
    out.push(';');
}

fn pattern(p: &Pattern<&str>, out: &mut String) {
    match p {
        Pattern::Var(x) => out.push_str(x),
        Pattern::Arr(ps) => {
            out.push('[');
            sep_by(ps, ", ", out, |p, out| pattern(p, out));
            out.push(']');
        }
        Pattern::Obj(entries) => {
            out.push('{');
            sep_by(entries, ", ", out, |(k, p), out| {
                paren(k, out);
                out.push_str(": ");
                pattern(p, out);
            });
            out.push('}');
        }
    }
}

fn as_f64(v: &Val) -> f64 {
    jaq_std::ValT::as_f64(v).unwrap_or(f64::NAN)
}

fn float(f: f64) -> Val {
    Val::Num(Num::Float(f))
}

/// A computed double: an exact integer (below 2^53 in magnitude, not -0) is kept as jaq's integer so
/// it still indexes arrays; either way it prints as jq prints the double.
pub(super) fn number(f: f64) -> Val {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if f.fract() == 0.0 && f.abs() < EXACT && !(f == 0.0 && f.is_sign_negative()) {
        Val::Num(Num::Int(f as isize))
    } else {
        float(f)
    }
}

/// `l op r` with jq 1.8.2's results (op: 0 `+`, 1 `-`, 2 `*`, 3 `/`, 4 `%`).
pub(super) fn math(l: Val, r: Val, op: u8) -> Result<Val, Error<Val>> {
    let is_str = |v: &Val| matches!(v, Val::TStr(_) | Val::BStr(_));
    let fail = |l: &Val, r: &Val, what: &str| {
        Err(err(format!("{} and {} cannot be {what}", describe(l), describe(r))))
    };
    match (op, &l, &r) {
        (2, s, n @ Val::Num(_)) | (2, n @ Val::Num(_), s) if is_str(s) => {
            let (Val::TStr(b) | Val::BStr(b)) = s else { unreachable!("checked above") };
            let d = as_f64(n);
            if d < 0.0 || d.is_nan() {
                return Ok(Val::Null);
            }
            let times = if d > f64::from(i32::MAX) { i32::MAX as usize } else { d as usize };
            if (b.len() as u64).saturating_mul(times as u64) >= i32::MAX as u64 {
                return Err(err("Repeat string result too long".into()));
            }
            Ok(Val::from(String::from_utf8_lossy(b).repeat(times)))
        }
        (3, Val::Num(_), Val::Num(_)) if as_f64(&r) == 0.0 => {
            fail(&l, &r, "divided because the divisor is zero")
        }
        (4, Val::Num(_), Val::Num(_)) => {
            let (a, b) = (as_f64(&l), as_f64(&r));
            if a.is_nan() || b.is_nan() {
                return Ok(float(f64::NAN));
            }
            // Both sides truncate to integers (saturating), like jq's intmax_t conversion.
            let (a, b) = (a as i64, b as i64);
            if b == 0 {
                return fail(&l, &r, "divided (remainder) because the divisor is zero");
            }
            Ok(Val::from(if b == -1 { 0 } else { a % b } as isize))
        }
        (0..=3, Val::Num(_), Val::Num(_)) => {
            // jq computes on doubles: the result loses any literal text.
            let (a, b) = (as_f64(&l), as_f64(&r));
            Ok(number(match op {
                0 => a + b,
                1 => a - b,
                2 => a * b,
                _ => a / b,
            }))
        }
        _ => {
            let what = ["added", "subtracted", "multiplied", "divided", "divided (remainder)"];
            let res = match op {
                0 => l.clone() + r.clone(),
                1 => l.clone() - r.clone(),
                2 => l.clone() * r.clone(),
                3 => l.clone() / r.clone(),
                _ => l.clone() % r.clone(),
            };
            res.or_else(|_| fail(&l, &r, what[usize::from(op.min(4))]))
        }
    }
}

/// Unary minus with jq's error.
pub(super) fn neg(v: Val) -> Result<Val, Error<Val>> {
    match v {
        Val::Num(_) => -v,
        other => Err(err(format!("{} cannot be negated", describe(&other)))),
    }
}
