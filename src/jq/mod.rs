//! jq, the dialect of jq 1.8.2, on the jaq interpreter with a compatibility layer.
//!
//! [`Program::compile`] applies Ocean's single-quote rewrite, locks down `env`/`$ENV` unless
//! [`JqOptions::allow_env`] is set, and compiles against jaq's standard library followed by our
//! compatibility prelude (`prelude.jq`) and native filters (`funs.rs`, `time.rs`). Evaluation
//! takes and returns `serde_json::Value`. Numbers keep their literal text like jq 1.8.2 until
//! arithmetic touches them (`value.rs`; serde_json is built with `arbitrary_precision`); a
//! computed NaN becomes null and ±infinity ±`f64::MAX`, printed with jq's digits.
//!
//! Arithmetic, assignment (`=`, `|=`, `op=`, `//=` as jq's `_assign`/`_modify`, which create
//! objects and arrays through null), `catch` handlers and `?//` destructuring follow jq through a
//! rewrite of the parsed program (`arith.rs`, `rewrite.rs`). Known differences from jq 1.8.2 that
//! the layer cannot close without forking jaq's core: object keys may be non-strings, fractional
//! and NaN indices are errors, decimals that differ only beyond 17 significant digits compare as
//! doubles, `path(…)` errors are worded like jaq, and modules and streaming builtins are missing.
//! Regexes use the `regex` crate, so look-around and backreferences are not supported.

mod arith;
mod funs;
mod rewrite;
mod time;
pub mod value;

use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Ctx, Vars, data::JustLut};
use jaq_json::Val;
use serde_json::Value;

pub use rewrite::single_quotes;

/// At most this many outputs are collected by [`Program::all`].
pub const MAX_OUTPUTS: usize = 100_000;

const PRELUDE: &str = include_str!("prelude.jq");
const ENV_LOCKDOWN: &str = "def env: {}; {} as $ENV | ";

/// Compile options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JqOptions {
    /// Let expressions read the process environment through `env`/`$ENV` (off by default:
    /// mappings could otherwise read secrets).
    pub allow_env: bool,
}

/// A jq expression that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// What is wrong, lowercase.
    pub message: String,
    /// Byte offset of the problem in the expression as written, when known.
    pub offset: Option<usize>,
    /// 1-based line within the expression, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters) within the expression, when known.
    pub col: Option<usize>,
}

impl CompileError {
    fn at(message: String, source: &str, offset: Option<usize>) -> Self {
        let (line, col) = match offset {
            Some(o) => {
                let o = o.min(source.len());
                let before = source.get(..o).unwrap_or(source);
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (Some(line), Some(col))
            }
            None => (None, None),
        };
        let message = match (line, col) {
            (Some(l), Some(c)) => format!("{message} (at line {l}, column {c} of the expression)"),
            _ => message,
        };
        Self { message, offset, line, col }
    }
}

/// A runtime error raised by an expression (jq's `error`, a type error, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// The error message, as jq's `catch` would see it when it is a string.
    pub message: String,
}

impl EvalError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

type Filter = jaq_core::Filter<JustLut<Val>>;

/// A compiled jq expression; cheap to evaluate many times, safe to share between threads.
#[derive(Clone)]
pub struct Program {
    filter: std::sync::Arc<Filter>,
    /// `$ENV` as a JSON object, when env access is allowed and the expression mentions `$ENV`.
    env: Option<Value>,
    allow_env: bool,
    source: String,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("source", &self.source).finish_non_exhaustive()
    }
}

fn prelude_defs() -> Result<Vec<load::parse::Def<&'static str>>, CompileError> {
    load::parse(PRELUDE, |p| p.defs()).ok_or_else(|| CompileError {
        message: "internal error: the jq compatibility prelude does not parse".into(),
        offset: None,
        line: None,
        col: None,
    })
}

/// Load and compile `code` (jaq's standard library, the prelude, the natives); `offset_of`
/// maps a slice of `code` to an offset in the user's `source` for error positions.
fn build(
    code: &str,
    allow_env: bool,
    source: &str,
    offset_of: &dyn Fn(&str) -> Option<usize>,
) -> Result<Filter, CompileError> {
    let defs =
        jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs()).chain(prelude_defs()?);
    let arena = Arena::default();
    let loader = Loader::new(defs);
    let modules = loader.load(&arena, File { code, path: () }).map_err(|errs| {
        let mut first = None;
        let mut messages = Vec::new();
        for (_file, e) in errs {
            match e {
                load::Error::Io(v) => messages
                    .extend(v.into_iter().map(|(p, m)| format!("cannot load module {p}: {m}"))),
                load::Error::Lex(v) => {
                    for (expect, at) in v {
                        first = first.or_else(|| offset_of(at));
                        messages.push(format!("syntax error: expected {}", expect.as_str()));
                    }
                }
                load::Error::Parse(v) => {
                    for (expect, at) in v {
                        first = first.or_else(|| offset_of(at));
                        let found = if at.is_empty() {
                            "end of expression".to_owned()
                        } else {
                            format!("`{}`", at.chars().take(20).collect::<String>())
                        };
                        messages.push(format!(
                            "syntax error: expected {}, found {found}",
                            expect.as_str()
                        ));
                    }
                }
            }
        }
        CompileError::at(messages.join("; "), source, first)
    })?;

    let funs = jaq_core::funs::<JustLut<Val>>()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .chain(funs::funs());
    let mut compiler = jaq_core::Compiler::default().with_funs(funs);
    if allow_env {
        compiler = compiler.with_global_vars(["$ENV"]);
    }
    compiler.compile(modules).map_err(|errs| {
        let mut first = None;
        let mut messages = Vec::new();
        for (_file, v) in errs {
            for (name, undefined) in v {
                first = first.or_else(|| offset_of(name));
                let shown = name.strip_prefix('@').map_or(name.to_owned(), |n| format!("@{n}"));
                messages.push(format!("undefined {} `{shown}`", undefined.as_str()));
            }
        }
        CompileError::at(messages.join("; "), source, first)
    })
}

impl Program {
    /// Compile `source` (as the user wrote it; the single-quote rewrite is applied here).
    pub fn compile(source: &str, opts: &JqOptions) -> Result<Program, CompileError> {
        let quoted = rewrite::single_quotes(source);
        let (body, inserted) = rewrite::for_jaq(&quoted);
        let mut prefix = if opts.allow_env { "" } else { ENV_LOCKDOWN }.to_owned();
        // `$__loc__`: jq's location of the variable in the program (an unused binding, were it
        // only mentioned inside a string, changes nothing).
        if let Some(at) = body.find("$__loc__") {
            let line = body[..at].matches('\n').count() + 1;
            prefix
                .push_str(&format!("{{\"file\":\"<top-level>\",\"line\":{line}}} as $__loc__ | "));
        }
        let prefix = prefix.as_str();
        let code = format!("{prefix}{body}");
        // Map an offset in `code` back to the user's text.
        let user_offset =
            |o: usize| rewrite::original_offset(o.saturating_sub(prefix.len()), &inserted);
        let offset_of = |part: &str| -> Option<usize> {
            let (start, end) = (code.as_ptr() as usize, code.as_ptr() as usize + code.len());
            let p = part.as_ptr() as usize;
            (p >= start && p <= end).then(|| user_offset(p - start))
        };

        let uses_env_var = opts.allow_env && body.contains("$ENV");
        let filter = build(&code, opts.allow_env, source, &offset_of)?;
        // jq's arithmetic (string repetition, division by zero, error wording): run the program
        // rewritten by `arith` when that compiles too; errors are always reported on the
        // program as written.
        let filter = match arith::rewrite(&body) {
            Some(rewritten) => {
                let code = format!("{prefix}{rewritten}");
                build(&code, opts.allow_env, source, &|_| None).unwrap_or(filter)
            }
            None => filter,
        };
        let env = uses_env_var
            .then(|| Value::Object(std::env::vars().map(|(k, v)| (k, Value::String(v))).collect()));
        Ok(Program {
            filter: std::sync::Arc::new(filter),
            env,
            allow_env: opts.allow_env,
            source: source.to_owned(),
        })
    }

    /// The expression as the user wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    fn vars(&self) -> Result<Vars<Val>, EvalError> {
        if !self.allow_env {
            return Ok(Vars::new([]));
        }
        let env = match &self.env {
            Some(e) => {
                value::to_val(e).map_err(|_| EvalError::new("environment nested too deeply"))?
            }
            None => Val::obj(Default::default()),
        };
        Ok(Vars::new([env]))
    }

    /// Run on a jaq value and hand each output to `each` until it returns false.
    fn run_val(
        &self,
        input: Val,
        mut each: impl FnMut(Val) -> Result<bool, EvalError>,
    ) -> Result<(), EvalError> {
        let ctx = Ctx::<JustLut<Val>>::new(&self.filter.lut, self.vars()?);
        for out in self.filter.id.run((ctx, input)) {
            let v = out.map_err(exn_to_error)?;
            if !each(v)? {
                break;
            }
        }
        Ok(())
    }

    /// Every output on a jaq value up to the first error, and that error (at most
    /// [`MAX_OUTPUTS`] outputs): what jq prints for the program, then its error.
    pub fn outputs_val(&self, input: Val) -> (Vec<Val>, Option<EvalError>) {
        let mut outs = Vec::new();
        let r = self.run_val(input, |v| {
            if outs.len() >= MAX_OUTPUTS {
                return Err(EvalError::new(format!("more than {MAX_OUTPUTS} outputs")));
            }
            outs.push(v);
            Ok(true)
        });
        (outs, r.err())
    }

    /// The first output on a jaq value (`None` when there is none).
    pub fn first_val(&self, input: Val) -> Result<Option<Val>, EvalError> {
        let mut first = None;
        self.run_val(input, |v| {
            first = Some(v);
            Ok(false)
        })?;
        Ok(first)
    }

    /// Every output on a jaq value, at most [`MAX_OUTPUTS`].
    pub fn all_val(&self, input: Val) -> Result<Vec<Val>, EvalError> {
        match self.outputs_val(input) {
            (outs, None) => Ok(outs),
            (_, Some(e)) => Err(e),
        }
    }

    /// The first output (`Ok(None)` when the expression yields nothing).
    pub fn first(&self, input: &Value) -> Result<Option<Value>, EvalError> {
        let input = value::to_val(input).map_err(|_| too_deep())?;
        match self.first_val(input)? {
            Some(v) => Ok(Some(value::from_val(&v).map_err(|_| too_deep())?)),
            None => Ok(None),
        }
    }

    /// Every output, in order (at most [`MAX_OUTPUTS`]; more is an error).
    pub fn all(&self, input: &Value) -> Result<Vec<Value>, EvalError> {
        let input = value::to_val(input).map_err(|_| too_deep())?;
        self.all_val(input)?.iter().map(|v| value::from_val(v).map_err(|_| too_deep())).collect()
    }
}

fn too_deep() -> EvalError {
    EvalError::new(format!("value nested deeper than {} levels", value::MAX_DEPTH))
}

/// Turn a jaq exception into an error message the way jq reports it.
fn exn_to_error(e: jaq_core::Exn<'_, Val>) -> EvalError {
    match e.get_err() {
        Ok(err) => match err.into_val() {
            Val::TStr(b) | Val::BStr(b) => {
                let msg = String::from_utf8_lossy(&b);
                EvalError::new(funs::jq_wording(&msg).unwrap_or_else(|| msg.into_owned()))
            }
            other => EvalError::new(format!("{} (not a string)", value::to_string(&other))),
        },
        Err(e) => match e.get_halt() {
            Ok(code) => EvalError::new(format!("halt({code}) is not supported in mappings")),
            Err(_) => EvalError::new("internal jq control flow escaped"),
        },
    }
}

/// Convert a JSON value for repeated evaluation with [`Program::first_val`]/[`Program::all_val`].
pub fn to_val(v: &Value) -> Result<Val, EvalError> {
    value::to_val(v).map_err(|_| too_deep())
}

/// Convert an output back to JSON (jq.py's number rules).
pub fn from_val(v: &Val) -> Result<Value, EvalError> {
    value::from_val(v).map_err(|_| too_deep())
}

#[cfg(test)]
mod tests;
