//! The SCIM-like expression language of `search` and `filter` (users, groups, apps, System
//! Log), each endpoint with its own dialect: which attributes, which operators, and whether
//! string values compare case-sensitively. Also the `fields` projection of list users.

use serde_json::{Map, Value};

use crate::util::{ApiError, ApiResult, parse_ts};

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Pr,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "pr" => Op::Pr,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
    fn is_range(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cmp { path: String, op: Op, val: Value },
}

/// Which endpoint's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    UsersSearch,
    UsersFilter,
    GroupsSearch,
    GroupsFilter,
    AppsFilter,
    Logs,
}

impl Dialect {
    pub(crate) fn case_sensitive(self) -> bool {
        matches!(self, Dialect::UsersFilter | Dialect::GroupsFilter | Dialect::AppsFilter)
    }

    fn check(self, path: &str, op: Op) -> Result<(), String> {
        let bad_op = || Err(format!("Operator '{op:?}' is not supported for attribute '{path}'"));
        let bad_attr = || Err(format!("Attribute '{path}' is not supported in this query"));
        match self {
            Dialect::UsersSearch => {
                let ok_attr = path.starts_with("profile.")
                    || matches!(
                        path,
                        "id" | "status"
                            | "created"
                            | "activated"
                            | "statusChanged"
                            | "lastUpdated"
                            | "lastLogin"
                            | "passwordChanged"
                            | "type.id"
                    );
                if !ok_attr {
                    return bad_attr();
                }
                match op {
                    Op::Ne | Op::Ew => bad_op(),
                    Op::Co
                        if !matches!(
                            path,
                            "profile.firstName"
                                | "profile.lastName"
                                | "profile.email"
                                | "profile.login"
                        ) =>
                    {
                        bad_op()
                    }
                    _ => Ok(()),
                }
            }
            Dialect::UsersFilter => match path {
                "status" | "id" | "profile.login" | "profile.email" | "profile.firstName"
                | "profile.lastName" => {
                    if op == Op::Eq {
                        Ok(())
                    } else {
                        bad_op()
                    }
                }
                "lastUpdated" => {
                    if op == Op::Eq || op.is_range() {
                        Ok(())
                    } else {
                        bad_op()
                    }
                }
                _ => bad_attr(),
            },
            Dialect::GroupsSearch => {
                let ok_attr = path.starts_with("profile.")
                    || matches!(
                        path,
                        "id" | "created"
                            | "lastUpdated"
                            | "lastMembershipUpdated"
                            | "type"
                            | "source.id"
                    );
                if !ok_attr {
                    return bad_attr();
                }
                match op {
                    Op::Ne | Op::Ew => bad_op(),
                    Op::Co if !matches!(path, "profile.name" | "profile.description") => bad_op(),
                    _ => Ok(()),
                }
            }
            Dialect::GroupsFilter => match path {
                "id" | "type" => {
                    if op == Op::Eq {
                        Ok(())
                    } else {
                        bad_op()
                    }
                }
                "lastUpdated" | "lastMembershipUpdated" => {
                    if op == Op::Eq || op.is_range() {
                        Ok(())
                    } else {
                        bad_op()
                    }
                }
                _ => bad_attr(),
            },
            Dialect::AppsFilter => match path {
                "id" | "status" | "name" | "user.id" | "group.id" => {
                    if op == Op::Eq {
                        Ok(())
                    } else {
                        bad_op()
                    }
                }
                _ => bad_attr(),
            },
            Dialect::Logs => {
                if path == "published" {
                    bad_attr()
                } else {
                    Ok(())
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == '"' {
            let mut v = String::new();
            i += 1;
            loop {
                match cs.get(i) {
                    None => return Err("Unterminated string literal".into()),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        if let Some(n) = cs.get(i + 1) {
                            v.push(*n);
                        }
                        i += 2;
                    }
                    Some(ch) => {
                        v.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(v));
        } else if c.is_ascii_digit()
            || (c == '-' && cs.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let st = i;
            i += 1;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            let t: String = cs[st..i].iter().collect();
            out.push(Tok::Num(t.parse().map_err(|_| format!("Bad number '{t}'"))?));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let st = i;
            while i < cs.len()
                && (cs[i].is_alphanumeric() || matches!(cs[i], '_' | '.' | '$' | '-'))
            {
                i += 1;
            }
            out.push(Tok::Word(cs[st..i].iter().collect()));
        } else {
            return Err(format!("Unexpected character '{c}'"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    dialect: Dialect,
    depth: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.and()?];
        while self.peek_word("or") {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { Expr::Or(v) })
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.atom()?];
        while self.peek_word("and") {
            self.pos += 1;
            v.push(self.atom()?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { Expr::And(v) })
    }
    fn atom(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("Expression nested too deeply".into());
        }
        let r = self.atom_inner();
        self.depth -= 1;
        r
    }
    fn atom_inner(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err("Missing ')'".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(path)) => {
                self.pos += 1;
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(o)) => {
                        Op::parse(o).ok_or_else(|| format!("Unknown operator '{o}'"))?
                    }
                    _ => return Err(format!("Expected an operator after '{path}'")),
                };
                self.pos += 1;
                self.dialect.check(&path, op)?;
                let val = if op == Op::Pr {
                    Value::Null
                } else {
                    let v = match self.toks.get(self.pos) {
                        Some(Tok::Str(s)) => Value::String(s.clone()),
                        Some(Tok::Num(n)) => serde_json::Number::from_f64(*n)
                            .map(Value::Number)
                            .unwrap_or(Value::Null),
                        Some(Tok::Word(w)) if w == "true" => Value::Bool(true),
                        Some(Tok::Word(w)) if w == "false" => Value::Bool(false),
                        Some(Tok::Word(w)) if w == "null" => Value::Null,
                        _ => return Err(format!("Expected a value after '{path}'")),
                    };
                    self.pos += 1;
                    v
                };
                Ok(Expr::Cmp { path, op, val })
            }
            _ => Err("Expected an attribute or '('".into()),
        }
    }
}

/// Parses an expression under a dialect; errors are Okta 400s.
pub(crate) fn parse(s: &str, dialect: Dialect) -> ApiResult<Expr> {
    let err = |m: String| match dialect {
        Dialect::Logs => ApiError::new(400, "E0000053", "Invalid filter").cause(m),
        _ => ApiError::bad_search(m),
    };
    let toks = tokenize(s).map_err(err)?;
    if toks.is_empty() {
        return Err(err("Empty expression".into()));
    }
    let mut p = Parser { toks, pos: 0, dialect, depth: 0 };
    let e = p.or().map_err(err)?;
    if p.pos != p.toks.len() {
        return Err(err("Unexpected trailing input".into()));
    }
    Ok(e)
}

fn cmp_str(a: &str, b: &str, cs: bool) -> std::cmp::Ordering {
    if cs { a.cmp(b) } else { a.to_lowercase().cmp(&b.to_lowercase()) }
}

fn matches_one(have: &Value, op: Op, want: &Value, cs: bool) -> bool {
    use std::cmp::Ordering::*;
    if let Value::Array(xs) = have {
        return xs.iter().any(|x| matches_one(x, op, want, cs));
    }
    let norm = |s: &str| if cs { s.to_owned() } else { s.to_lowercase() };
    match op {
        Op::Pr => !have.is_null(),
        Op::Co | Op::Sw | Op::Ew => match (have, want) {
            (Value::String(h), Value::String(w)) => {
                let (h, w) = (norm(h), norm(w));
                match op {
                    Op::Co => h.contains(&w),
                    Op::Sw => h.starts_with(&w),
                    _ => h.ends_with(&w),
                }
            }
            _ => false,
        },
        _ => {
            let ord = match (have, want) {
                (Value::String(h), Value::String(w)) => match (parse_ts(h), parse_ts(w)) {
                    (Some(a), Some(b)) if op != Op::Eq || h.len() >= 19 => Some(a.cmp(&b)),
                    _ => Some(cmp_str(h, w, cs)),
                },
                (Value::Number(h), Value::Number(w)) => {
                    h.as_f64().zip(w.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
                }
                (Value::Bool(h), Value::Bool(w)) => Some(h.cmp(w)),
                (Value::Null, Value::Null) => Some(Equal),
                _ => None,
            };
            match (op, ord) {
                (Op::Eq, Some(o)) => o == Equal,
                (Op::Ne, Some(o)) => o != Equal,
                (Op::Ne, None) => true,
                (Op::Gt, Some(o)) => o == Greater,
                (Op::Ge, Some(o)) => o != Less,
                (Op::Lt, Some(o)) => o == Less,
                (Op::Le, Some(o)) => o != Greater,
                _ => false,
            }
        }
    }
}

/// Evaluates an expression; `get` returns an attribute's value (arrays fan out).
pub(crate) fn eval(e: &Expr, cs: bool, get: &dyn Fn(&str) -> Option<Value>) -> bool {
    match e {
        Expr::Or(v) => v.iter().any(|x| eval(x, cs, get)),
        Expr::And(v) => v.iter().all(|x| eval(x, cs, get)),
        Expr::Cmp { path, op, val } => match get(path) {
            Some(h) => matches_one(&h, *op, val, cs),
            None => *op == Op::Ne || (*op == Op::Eq && val.is_null()),
        },
    }
}

/// Looks up a dotted path in a JSON value, fanning out over arrays (`target.id`).
pub(crate) fn json_path(v: &Value, path: &str) -> Option<Value> {
    let mut cur = vec![v];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for c in cur {
            match c {
                Value::Object(m) => {
                    if let Some(x) = m.get(seg) {
                        next.push(x);
                    }
                }
                Value::Array(xs) => {
                    for x in xs {
                        if let Some(y) = x.get(seg) {
                            next.push(y);
                        }
                    }
                }
                _ => {}
            }
        }
        cur = next;
    }
    match cur.len() {
        0 => None,
        1 => Some(cur[0].clone()),
        _ => Some(Value::Array(cur.into_iter().cloned().collect())),
    }
}

/// A `fields` projection: top-level names and optional `profile:(…)` sub-fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    top: Vec<String>,
    profile: Option<Vec<String>>,
}

impl Fields {
    pub(crate) fn parse(s: &str) -> ApiResult<Fields> {
        let mut f = Fields::default();
        let mut rest = s.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("profile:(") {
                let end = r
                    .find(')')
                    .ok_or_else(|| ApiError::validation("fields", "Missing ')' in fields"))?;
                f.profile = Some(
                    r[..end]
                        .split(',')
                        .map(|x| x.trim().to_owned())
                        .filter(|x| !x.is_empty())
                        .collect(),
                );
                rest = r[end + 1..].trim_start_matches(',').trim();
                continue;
            }
            let (item, r) = rest.split_once(',').unwrap_or((rest, ""));
            let item = item.trim();
            if !item.is_empty() {
                if item.contains(['(', ')', ':']) {
                    return Err(ApiError::validation("fields", format!("Invalid field '{item}'")));
                }
                f.top.push(item.to_owned());
            }
            rest = r.trim();
        }
        Ok(f)
    }

    /// Applies the projection to a user object; `id` is always kept.
    pub(crate) fn apply(&self, v: Value) -> Value {
        let Value::Object(mut m) = v else { return v };
        let mut out = Map::new();
        if let Some(id) = m.remove("id") {
            out.insert("id".into(), id);
        }
        for k in &self.top {
            if k != "profile" {
                if let Some(x) = m.remove(k) {
                    out.insert(k.clone(), x);
                }
            } else if let Some(x) = m.get("profile") {
                out.insert("profile".into(), x.clone());
            }
        }
        if let Some(pf) = &self.profile {
            let src = m.get("profile").and_then(Value::as_object);
            let p: Map<String, Value> = pf
                .iter()
                .filter_map(|k| src.and_then(|s| s.get(k)).map(|x| (k.clone(), x.clone())))
                .collect();
            out.insert("profile".into(), Value::Object(p));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(v: &Value) -> impl Fn(&str) -> Option<Value> + '_ {
        move |p| json_path(v, p)
    }

    #[test]
    fn parse_and_eval() {
        let u = json!({"status": "ACTIVE", "lastUpdated": "2024-01-02T00:00:00.000Z",
                       "profile": {"login": "Ada@Example.com", "skills": ["x", "y"]}});
        let e = parse(
            r#"status eq "active" and (profile.login sw "ada" or id eq "1")"#,
            Dialect::UsersSearch,
        )
        .unwrap();
        assert!(eval(&e, false, &get(&u)));
        let e = parse(r#"status eq "active""#, Dialect::UsersFilter).unwrap();
        assert!(!eval(&e, true, &get(&u)));
        let e = parse(r#"lastUpdated gt "2024-01-01T00:00:00Z""#, Dialect::UsersFilter).unwrap();
        assert!(eval(&e, true, &get(&u)));
        let e = parse(r#"profile.skills eq "y""#, Dialect::UsersSearch).unwrap();
        assert!(eval(&e, false, &get(&u)));
        assert!(parse(r#"status ne "ACTIVE""#, Dialect::UsersSearch).is_err());
        assert!(parse(r#"profile.city eq "x""#, Dialect::UsersFilter).is_err());
        assert!(parse(r#"status eq"#, Dialect::UsersSearch).is_err());
        assert!(parse(r#"(status eq "x""#, Dialect::UsersSearch).is_err());
        assert!(parse(&"(".repeat(500), Dialect::UsersSearch).is_err());
        let l =
            json!({"eventType": "group.user_membership.add", "target": [{"id": "a"}, {"id": "b"}]});
        let e = parse(r#"eventType sw "group." and target.id eq "b""#, Dialect::Logs).unwrap();
        assert!(eval(&e, true, &get(&l)));
    }

    #[test]
    fn fields_projection() {
        let f = Fields::parse("status,profile:(login,city),created").unwrap();
        let v = f.apply(json!({"id": "1", "status": "A", "created": "c", "lastUpdated": "x",
                               "profile": {"login": "l", "email": "e"}}));
        assert_eq!(v, json!({"id": "1", "status": "A", "created": "c", "profile": {"login": "l"}}));
        assert!(Fields::parse("profile:(login").is_err());
    }
}
