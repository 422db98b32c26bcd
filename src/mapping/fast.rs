//! The native fast path: expressions that are plain paths, literals, `A // B`, `A + B` and
//! `[A]` of those are evaluated directly on `serde_json::Value`, with exactly jq's results.
//!
//! Anything else (pipes, function calls, comparisons, ...) returns `None` from [`parse`] and goes
//! through jaq. The grammar accepted here:
//!
//! ```text
//! alt    := sum ('//' sum)*
//! sum    := atom ('+' atom)*
//! atom   := literal | path | '(' alt ')' | '[' alt? ']'
//! path   := '.' | ('.' name | '."str"' | '.'? '[' (int | "str")? ']') '?'? ...
//! ```

use serde_json::{Map, Number, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// `.name` / `.["name"]`
    Key(String),
    /// `.[n]`
    Index(i64),
    /// `.[]`
    Iter,
}

/// A natively evaluated expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Fast {
    /// A constant.
    Lit(Value),
    /// A path; each step may be optional (`?`: errors become no output).
    Path(Vec<(Seg, bool)>),
    /// `A // B`
    Alt(Box<Fast>, Box<Fast>),
    /// `A + B` (both sides single-valued)
    Add(Box<Fast>, Box<Fast>),
    /// `[A]`: every output of `A`, as one array.
    Collect(Box<Fast>),
}

/// Why native evaluation failed: a jq runtime error message.
#[derive(Debug, Clone, PartialEq)]
pub struct FastError(pub String);

impl Fast {
    /// Whether the expression can yield more or fewer than one output.
    pub fn is_stream(&self) -> bool {
        match self {
            Fast::Lit(_) => false,
            Fast::Path(segs) => segs.iter().any(|(s, opt)| *opt || *s == Seg::Iter),
            Fast::Alt(a, b) => a.is_stream() || b.is_stream(),
            Fast::Add(a, b) => a.is_stream() || b.is_stream(),
            Fast::Collect(_) => false,
        }
    }

    /// A plain path of keys and indices without iteration (for `itemsToParse` deletion).
    pub fn plain_path(&self) -> Option<Vec<&Seg>> {
        match self {
            Fast::Path(segs) if !segs.is_empty() && segs.iter().all(|(s, _)| *s != Seg::Iter) => {
                Some(segs.iter().map(|(s, _)| s).collect())
            }
            _ => None,
        }
    }

    /// The path if this is exactly a literal string (used for literal blueprints).
    pub fn literal(&self) -> Option<&Value> {
        match self {
            Fast::Lit(v) => Some(v),
            _ => None,
        }
    }

    /// The first output without collecting the others (`Ok(None)`: no output).
    pub fn first<'a, V: View>(&'a self, input: &'a V) -> Result<Option<Cow<'a, V>>, FastError> {
        match self {
            Fast::Lit(v) => Ok(Some(Cow::Lit(v))),
            Fast::Path(segs) if segs.iter().all(|(s, _)| *s != Seg::Iter) => {
                path_first(input, segs)
            }
            // A stream on the left may have a truthy output after a falsy one or before an error.
            Fast::Alt(a, _) if a.is_stream() => self.first_slow(input),
            Fast::Alt(a, b) => match a.first(input) {
                Ok(Some(v)) if v.truthy() => Ok(Some(v)),
                _ => b.first(input),
            },
            Fast::Add(a, b) => match (a.first(input)?, b.first(input)?) {
                (Some(l), Some(r)) => Ok(Some(Cow::Owned(add(&l.value(), &r.value())?))),
                _ => Ok(None),
            },
            Fast::Path(_) | Fast::Collect(_) => self.first_slow(input),
        }
    }

    fn first_slow<'a, V: View>(&'a self, input: &'a V) -> Result<Option<Cow<'a, V>>, FastError> {
        let mut out = Vec::new();
        let r = self.eval(input, &mut out);
        // Like jq's `first(f)`: an output before an error wins.
        match out.into_iter().next() {
            Some(v) => Ok(Some(v)),
            None => r.map(|()| None),
        }
    }

    /// Evaluate, pushing every output (borrowed when possible) to `out`.
    pub fn eval<'a, V: View>(
        &'a self,
        input: &'a V,
        out: &mut Vec<Cow<'a, V>>,
    ) -> Result<(), FastError> {
        match self {
            Fast::Lit(v) => {
                out.push(Cow::Lit(v));
                Ok(())
            }
            Fast::Path(segs) => path(input, segs, out),
            Fast::Alt(a, b) => {
                let mut left = Vec::new();
                // Errors on the left are swallowed, like jq's `//`.
                let _ = a.eval(input, &mut left);
                let before = out.len();
                out.extend(left.into_iter().filter(Cow::truthy));
                if out.len() == before {
                    b.eval(input, out)?;
                }
                Ok(())
            }
            Fast::Add(a, b) => {
                let mut l = Vec::with_capacity(1);
                let mut r = Vec::with_capacity(1);
                a.eval(input, &mut l)?;
                b.eval(input, &mut r)?;
                match (l.pop(), r.pop()) {
                    (Some(l), Some(r)) => {
                        out.push(Cow::Owned(add(&l.value(), &r.value())?));
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
            Fast::Collect(a) => {
                let mut items = Vec::new();
                a.eval(input, &mut items)?;
                out.push(Cow::Owned(Value::Array(
                    items.into_iter().map(Cow::into_owned).collect(),
                )));
                Ok(())
            }
        }
    }
}

/// A JSON document the fast path can read: a `serde_json::Value`, or the borrowed
/// [`Doc`](super::project::Doc) that [`super::project::parse_doc`] builds from JSON text.
pub trait View: Sized {
    /// A null of this type.
    fn null<'b>() -> &'b Self
    where
        Self: 'b;
    /// jq's type name (`null`, `string`, `object`, ...).
    fn type_name(&self) -> &'static str;
    /// Neither null nor false.
    fn truthy(&self) -> bool;
    /// `.[k]` on an object (`Some(None)`: missing key); `None` when this is not an object.
    fn key(&self, k: &str) -> Option<Option<&Self>>;
    /// The elements of an array; `None` when this is not an array.
    fn elements(&self) -> Option<&[Self]>;
    /// The values of an object in order; `None` when this is not an object.
    fn object_values(&self) -> Option<impl Iterator<Item = &Self>>;
    /// The value as a `serde_json::Value`, borrowed when it already is one.
    fn value(&self) -> std::borrow::Cow<'_, Value>;
}

impl View for Value {
    fn null<'b>() -> &'b Value {
        &NULL
    }
    fn type_name(&self) -> &'static str {
        type_name(self)
    }
    fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }
    fn key(&self, k: &str) -> Option<Option<&Value>> {
        match self {
            Value::Object(o) => Some(o.get(k)),
            _ => None,
        }
    }
    fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    fn object_values(&self) -> Option<impl Iterator<Item = &Value>> {
        match self {
            Value::Object(o) => Some(o.values()),
            _ => None,
        }
    }
    fn value(&self) -> std::borrow::Cow<'_, Value> {
        std::borrow::Cow::Borrowed(self)
    }
}

/// An output: borrowed from the input or the program, or computed.
#[derive(Debug, Clone)]
pub enum Cow<'a, V = Value> {
    /// Borrowed from the input.
    Borrowed(&'a V),
    /// A literal of the program.
    Lit(&'a Value),
    /// Computed.
    Owned(Value),
}

impl<V: View> Cow<'_, V> {
    /// The value, converted only when the input is not a `serde_json::Value`.
    pub fn value(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            Cow::Borrowed(v) => v.value(),
            Cow::Lit(v) => std::borrow::Cow::Borrowed(v),
            Cow::Owned(v) => std::borrow::Cow::Borrowed(v),
        }
    }

    /// An owned copy.
    pub fn into_owned(self) -> Value {
        match self {
            Cow::Borrowed(v) => v.value().into_owned(),
            Cow::Lit(v) => v.clone(),
            Cow::Owned(v) => v,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Cow::Borrowed(v) => v.truthy(),
            Cow::Lit(v) => v.truthy(),
            Cow::Owned(v) => v.truthy(),
        }
    }
}

use super::type_name;

static NULL: Value = Value::Null;

fn describe<V: View>(v: &V) -> String {
    let mut text = serde_json::to_string(&*v.value()).unwrap_or_default();
    crate::jq::value::truncate_for_error(&mut text);
    format!("{} ({text})", v.type_name())
}

/// jq 1.8's indexing error: `Cannot index number with string ("a")`.
fn index_error(of: &str, seg: &Seg) -> FastError {
    let key = match seg {
        Seg::Key(k) => Value::String(k.clone()),
        Seg::Index(i) => Value::from(*i),
        Seg::Iter => return FastError(format!("Cannot iterate over {of}")),
    };
    let text = describe(&key);
    FastError(format!("Cannot index {of} with {text}"))
}

fn array_at<V>(a: &[V], i: i64) -> Option<&V> {
    let idx = if i < 0 { a.len() as i64 + i } else { i };
    usize::try_from(idx).ok().and_then(|i| a.get(i))
}

fn path<'a, V: View>(
    v: &'a V,
    segs: &'a [(Seg, bool)],
    out: &mut Vec<Cow<'a, V>>,
) -> Result<(), FastError> {
    let Some(((seg, opt), rest)) = segs.split_first() else {
        out.push(Cow::Borrowed(v));
        return Ok(());
    };
    let r = match seg {
        Seg::Key(k) => match v.key(k) {
            Some(child) => return path(child.unwrap_or(V::null()), rest, out),
            None if v.type_name() == "null" => return path(v, rest, out),
            None => Err(index_error(v.type_name(), seg)),
        },
        Seg::Index(i) => match v.elements() {
            Some(a) => return path(array_at(a, *i).unwrap_or(V::null()), rest, out),
            None if v.type_name() == "null" => return path(v, rest, out),
            None => Err(index_error(v.type_name(), seg)),
        },
        Seg::Iter => {
            if let Some(a) = v.elements() {
                // Usually one output per element: one allocation, not log2(n) regrowths.
                out.reserve(a.len());
                for x in a {
                    path(x, rest, out)?;
                }
                return Ok(());
            }
            if let Some(values) = v.object_values() {
                for x in values {
                    path(x, rest, out)?;
                }
                return Ok(());
            }
            Err(FastError(format!("Cannot iterate over {}", describe(v))))
        }
    };
    match r {
        Err(_) if *opt => Ok(()),
        r => r,
    }
}

/// A path without iteration: at most one output.
fn path_first<'a, V: View>(
    mut v: &'a V,
    segs: &'a [(Seg, bool)],
) -> Result<Option<Cow<'a, V>>, FastError> {
    for (seg, opt) in segs {
        let next = match seg {
            Seg::Key(k) => v.key(k).map(|c| c.unwrap_or(V::null())),
            Seg::Index(i) => v.elements().map(|a| array_at(a, *i).unwrap_or(V::null())),
            Seg::Iter => None,
        };
        v = match next {
            Some(child) => child,
            None if v.type_name() == "null" => v,
            None => {
                if *opt {
                    return Ok(None);
                }
                return Err(index_error(v.type_name(), seg));
            }
        };
    }
    Ok(Some(Cow::Borrowed(v)))
}

fn num_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// jq's `+` on two values.
pub fn add(l: &Value, r: &Value) -> Result<Value, FastError> {
    Ok(match (l, r) {
        (Value::Null, x) | (x, Value::Null) => x.clone(),
        // jq adds doubles: the literal text is lost.
        (Value::Number(a), Value::Number(b)) => {
            crate::jq::value::f64_to_json(num_f64(a) + num_f64(b))
        }
        (Value::String(a), Value::String(b)) => {
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            Value::String(s)
        }
        (Value::Array(a), Value::Array(b)) => Value::Array(a.iter().chain(b).cloned().collect()),
        (Value::Object(a), Value::Object(b)) => {
            let mut m: Map<String, Value> = a.clone();
            for (k, v) in b {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        }
        (a, b) => {
            return Err(FastError(format!("{} and {} cannot be added", describe(a), describe(b))));
        }
    })
}

/// Parse an expression (after the single-quote rewrite) into a fast form, if it has one.
pub fn parse(src: &str) -> Option<Fast> {
    let mut p = Parser { s: src.as_bytes(), i: 0 };
    let f = p.alt()?;
    p.ws();
    (p.i == p.s.len()).then_some(f)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
        // A comment runs to the end of the line.
        if self.peek() == Some(b'#') {
            while self.i < self.s.len() && self.s[self.i] != b'\n' {
                self.i += 1;
            }
            self.ws();
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }

    fn alt(&mut self) -> Option<Fast> {
        let first = self.sum()?;
        self.ws();
        if self.s[self.i..].starts_with(b"//=") {
            return None;
        }
        if self.eat("//") {
            // `//` is right-associative.
            let rest = self.alt()?;
            return Some(Fast::Alt(Box::new(first), Box::new(rest)));
        }
        Some(first)
    }

    fn sum(&mut self) -> Option<Fast> {
        let mut acc = self.atom()?;
        loop {
            self.ws();
            if self.peek() == Some(b'+') && self.s.get(self.i + 1) != Some(&b'=') {
                self.i += 1;
                let rhs = self.atom()?;
                if acc.is_stream() || rhs.is_stream() {
                    return None;
                }
                acc = Fast::Add(Box::new(acc), Box::new(rhs));
            } else {
                return Some(acc);
            }
        }
    }

    fn atom(&mut self) -> Option<Fast> {
        self.ws();
        match self.peek()? {
            b'.' => self.path(),
            b'"' => self.string().map(|s| Fast::Lit(Value::String(s))),
            b'(' => {
                self.i += 1;
                let inner = self.alt()?;
                self.ws();
                self.eat(")").then_some(inner)
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.eat("]") {
                    return Some(Fast::Lit(Value::Array(Vec::new())));
                }
                let inner = self.alt()?;
                self.ws();
                self.eat("]").then(|| Fast::Collect(Box::new(inner)))
            }
            b'0'..=b'9' => self.number(),
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.s[self.i..].starts_with(word.as_bytes())
                        && !self
                            .s
                            .get(self.i + word.len())
                            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        self.i += word.len();
                        return Some(Fast::Lit(v));
                    }
                }
                None
            }
        }
    }

    fn number(&mut self) -> Option<Fast> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i > from
        };
        digits(self);
        // `1.5`, `1e2`, `1.5E-3`: JSON number syntax; anything else is left to jaq.
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return None;
            }
        }
        if self.peek().is_some_and(|c| c == b'e' || c == b'E') {
            self.i += 1;
            if self.peek().is_some_and(|c| c == b'+' || c == b'-') {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        if self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_') {
            return None;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        // A literal keeps its text, spelled as jq prints it (`1.0`, `1E+2`).
        Some(Fast::Lit(crate::jq::value::literal_to_json(text)))
    }

    /// A string literal without escapes or interpolation.
    fn string(&mut self) -> Option<String> {
        let start = self.i + 1;
        let mut j = start;
        while j < self.s.len() && self.s[j] != b'"' {
            if self.s[j] == b'\\' {
                return None;
            }
            j += 1;
        }
        if j >= self.s.len() {
            return None;
        }
        let text = std::str::from_utf8(&self.s[start..j]).ok()?.to_owned();
        self.i = j + 1;
        Some(text)
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        if !self.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
            return None;
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            self.i += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        // `.foo::bar` and keywords after a dot are left to jaq.
        if self.peek() == Some(b':') {
            return None;
        }
        Some(word.to_owned())
    }

    fn path(&mut self) -> Option<Fast> {
        let mut segs: Vec<(Seg, bool)> = Vec::new();
        let mut first = true;
        loop {
            let before = self.i;
            // A path continues only without whitespace in between.
            let seg = if self.eat("..") {
                return None;
            } else if self.peek() == Some(b'.') {
                self.i += 1;
                match self.peek() {
                    Some(b'"') => Seg::Key(self.string()?),
                    Some(b'[') => {
                        self.i += 1;
                        self.bracket()?
                    }
                    Some(c) if c.is_ascii_alphabetic() || c == b'_' => Seg::Key(self.ident()?),
                    _ if first => {
                        // `.` alone, possibly followed by `[`.
                        if self.peek() == Some(b'[') {
                            self.i += 1;
                            self.bracket()?
                        } else {
                            return Some(Fast::Path(segs));
                        }
                    }
                    _ => return None,
                }
            } else if self.peek() == Some(b'[') && !first {
                self.i += 1;
                self.bracket()?
            } else if first {
                return None;
            } else {
                self.i = before;
                return Some(Fast::Path(segs));
            };
            first = false;
            let opt = self.eat("?");
            if self.peek() == Some(b'?') {
                return None;
            }
            segs.push((seg, opt));
        }
    }

    fn bracket(&mut self) -> Option<Seg> {
        self.ws();
        let seg = match self.peek()? {
            b']' => Seg::Iter,
            b'"' => Seg::Key(self.string()?),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                self.i += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                let n: i64 = std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok()?;
                Seg::Index(n)
            }
            _ => return None,
        };
        self.ws();
        self.eat("]").then_some(seg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_shapes() {
        assert_eq!(parse(".id"), Some(Fast::Path(vec![(Seg::Key("id".into()), false)])));
        assert!(matches!(
            parse(
                ".profile.displayName // .profile.firstName + \" \" + .profile.lastName // .profile.login"
            ),
            Some(Fast::Alt(..))
        ));
        assert!(matches!(parse("\"okta-user\""), Some(Fast::Lit(Value::String(_)))));
        assert!(parse(".groups[]?.id").is_some());
        assert!(parse(".a | .b").is_none());
        assert!(matches!(parse("[.applications[]?.label]"), Some(Fast::Collect(_))));
        assert!(parse("[.a, .b]").is_none());
        assert!(parse("[.a | .b]").is_none());
        assert!(parse(".a == 1").is_none());
        assert!(parse(".[0]").is_some());
        assert!(parse(".a[1:2]").is_none());
        assert!(parse(".\"a-b\".c").is_some());
        assert!(parse("true").is_some());
        assert!(parse("trueish").is_none());
        assert!(parse(".a.b?").is_some());
        assert!(parse(".a??").is_none());
        assert!(parse(".a + .b[]").is_none());
        assert_eq!(parse("1.50"), Some(Fast::Lit("1.50".parse().unwrap())));
        assert_eq!(
            parse("1e2").and_then(|f| f.literal().map(Value::to_string)),
            Some("1E+2".into())
        );
        assert!(parse("1.").is_none());
        assert!(parse(".").is_some());
        assert!(parse(". a").is_none());
    }
}
