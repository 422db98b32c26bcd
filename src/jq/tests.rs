//! Unit tests: expected values follow jq 1.8.2 (manual and jq-engines.md).

use super::*;
use serde_json::json;

fn all(prog: &str, input: Value) -> Result<Vec<Value>, String> {
    let p = Program::compile(prog, &JqOptions::default()).map_err(|e| format!("compile: {e}"))?;
    p.all(&input).map_err(|e| e.message)
}

fn one(prog: &str, input: Value) -> Value {
    let outs = all(prog, input).unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert_eq!(outs.len(), 1, "{prog}: {outs:?}");
    outs.into_iter().next().unwrap()
}

fn fails(prog: &str, input: Value) -> String {
    match all(prog, input) {
        Err(e) => e,
        Ok(v) => panic!("{prog}: expected an error, got {v:?}"),
    }
}

#[test]
fn prelude_parses() {
    assert!(prelude_defs().is_ok());
}

#[test]
fn smoke() {
    assert_eq!(one(".a", json!({"a": 1})), json!(1));
}

/// (program, input, expected outputs as a JSON array)
const CASES: &[(&str, &str, &str)] = &[
    // paths, alternatives, optional
    (".a.b", r#"{"a":{"b":2}}"#, "[2]"),
    (".a.b", "null", "[null]"),
    (".a?", "1", "[]"),
    (".[0]", "[1,2]", "[1]"),
    (".[-1]", "[1,2]", "[2]"),
    (".a // \"d\"", r#"{"a":false}"#, r#"["d"]"#),
    ("(.a | error) // 1", r#"{"a":"x"}"#, "[1]"),
    (".a[]?", r#"{"a":5}"#, "[]"),
    (".a[]?.id", r#"{"a":[{"id":1},{"id":2}]}"#, "[1,2]"),
    ("[.[] | select(. > 1)]", "[1,2,3]", "[[2,3]]"),
    // strings
    (r#".a + " " + .b"#, r#"{"a":null,"b":"x"}"#, r#"[" x"]"#),
    ("null + \"x\"", "null", r#"["x"]"#),
    (r#""\(10/2)""#, "null", r#"["5"]"#),
    (r#""a\(1.5)b\(null)\(true)\([1,{"x":2}])""#, "null", r#"["a1.5bnulltrue[1,{\"x\":2}]"]"#),
    ("10/2 | tostring", "null", r#"["5"]"#),
    (
        "[1, 1.5, \"s\", null, {\"a\":[]}] | map(tostring)",
        "null",
        r#"[["1","1.5","s","null","{\"a\":[]}"]]"#,
    ),
    ("{\"a\": (3/2)} | tojson", "null", r#"["{\"a\":1.5}"]"#),
    ("1e1000 | tojson", "null", r#"["1E+1000"]"#),
    ("\"a,b,c\" | split(\",\")", "null", r#"[["a","b","c"]]"#),
    ("\"\" | split(\",\")", "null", "[[]]"),
    ("\"a1b22c\" | [splits(\"[0-9]+\")]", "null", r#"[["a","b","c"]]"#),
    (r#"["a",null,1,true] | join("-")"#, "null", r#"["a--1-true"]"#),
    ("[] | join(\",\")", "null", r#"[""]"#),
    (
        "[.firstName, .displayName, .lastName] | join(\" \")",
        r#"{"firstName":"Isaac","lastName":"Brock"}"#,
        r#"["Isaac  Brock"]"#,
    ),
    ("\"AbC\" | ascii_downcase, ascii_upcase", "null", r#"["abc","ABC"]"#),
    (
        "\"foobar\" | ltrimstr(\"foo\"), rtrimstr(\"bar\"), ltrimstr(\"x\")",
        "null",
        r#"["bar","foo","foobar"]"#,
    ),
    ("\"xax\" | trimstr(\"x\")", "null", r#"["a"]"#),
    ("\"foobar\" | startswith(\"foo\"), endswith(\"foo\")", "null", "[true,false]"),
    ("\"abc\" * 2", "null", r#"["abcabc"]"#),
    ("\"a,b\" / \",\"", "null", r#"[["a","b"]]"#),
    ("\"42\" | tonumber", "null", "[42]"),
    ("\"4.5\" | tonumber", "null", "[4.5]"),
    ("\"1e3\" | tonumber", "null", "[1E+3]"),
    (
        "[\" 4\", \"1 2\", \"\", \"abc\", \"0x10\"] | map(try tonumber catch \"E\")",
        "null",
        r#"[["E","E","E","E","E"]]"#,
    ),
    ("\"[1,{\\\"a\\\":2}]\" | fromjson", "null", r#"[[1,{"a":2}]]"#),
    // regex
    ("\"test 123\" | test(\"\\\\d+\")", "null", "[true]"),
    ("\"ABC\" | test(\"abc\"; \"i\")", "null", "[true]"),
    ("\"ABC\" | test([\"abc\", \"i\"])", "null", "[true]"),
    ("\"ABC\" | test(\"abc\"; null)", "null", "[false]"),
    ("\"foo bar\" | match(\"o+\") | [.offset, .length, .string]", "null", r#"[[1,2,"oo"]]"#),
    ("\"foob\" | match(\"(o)(?<n>b)\") | .captures | map(.name)", "null", r#"[[null,"n"]]"#),
    (
        "\"xyzzy-14\" | capture(\"(?<a>[a-z]+)-(?<n>[0-9]+)\")",
        "null",
        r#"[{"a":"xyzzy","n":"14"}]"#,
    ),
    ("\"abAB\" | [scan(\"[ab]\")]", "null", r#"[["a","b"]]"#),
    ("\"a-b-c\" | sub(\"-\"; \"+\")", "null", r#"["a+b-c"]"#),
    ("\"a-b-c\" | gsub(\"-\"; \"+\")", "null", r#"["a+b+c"]"#),
    ("\"ab12\" | gsub(\"(?<d>[0-9])\"; \"<\\(.d)>\")", "null", r#"["ab<1><2>"]"#),
    // objects and arrays
    ("has(\"a\"), has(\"z\")", r#"{"a":1}"#, "[true,false]"),
    ("\"a\" | in({\"a\":1})", "null", "[true]"),
    ("map(. * 2)", "[1,2]", "[[2,4]]"),
    ("map_values(. + 1)", r#"{"a":1,"b":2}"#, r#"[{"a":2,"b":3}]"#),
    ("to_entries", r#"{"a":1,"b":2}"#, r#"[[{"key":"a","value":1},{"key":"b","value":2}]]"#),
    (
        "from_entries",
        r#"[{"key":"a","value":1},{"Key":"b","Value":2},{"name":"c","value":3},{"Name":"d","Value":4}]"#,
        r#"[{"a":1,"b":2,"c":3,"d":4}]"#,
    ),
    ("from_entries", r#"[{"key":"a","value":null,"Value":5}]"#, r#"[{"a":null}]"#),
    ("[] | from_entries", "null", "[{}]"),
    ("try from_entries catch \"E\"", r#"[{"key":1,"value":2}]"#, r#"["E"]"#),
    ("with_entries(.value += 1)", r#"{"a":1}"#, r#"[{"a":2}]"#),
    ("keys", r#"{"b":1,"a":2}"#, r#"[["a","b"]]"#),
    ("[length, (\"héllo\" | length), (null | length), (-5 | length)]", "[1,2]", "[[2,5,0,5]]"),
    ("first, last", "[1,2,3]", "[1,3]"),
    ("[first(.[]), limit(2; .[])]", "[1,2,3]", "[[1,1,2]]"),
    ("any, all", "[true,false]", "[true,false]"),
    ("unique", "[2,1,2]", "[[1,2]]"),
    ("sort_by(.a) | map(.a)", r#"[{"a":2},{"a":1}]"#, "[[1,2]]"),
    ("group_by(.a) | map(length)", r#"[{"a":2},{"a":1},{"a":2}]"#, "[[1,2]]"),
    ("add", "[1,2,3]", "[6]"),
    ("add", "[\"a\",\"b\"]", r#"["ab"]"#),
    ("[] | add", "null", "[null]"),
    ("[.[] | IN(2, 3)]", "[1,2,3]", "[[false,true,true]]"),
    ("INDEX(.id)", r#"[{"id":1},{"id":"b"}]"#, r#"[{"1":{"id":1},"b":{"id":"b"}}]"#),
    ("getpath([\"a\",\"b\"])", r#"{"a":{"b":3}}"#, "[3]"),
    ("getpath([\"x\",\"y\"])", "{}", "[null]"),
    ("[paths]", r#"{"a":[1]}"#, r#"[[["a"],["a",0]]]"#),
    ("del(.a)", r#"{"a":1,"b":2,"c":3}"#, r#"[{"b":2,"c":3}]"#),
    ("del(.[1, 2])", "[0,1,2,3]", "[[0,3]]"),
    ("del(.a.b)", r#"{"a":{"b":1,"c":2}}"#, r#"[{"a":{"c":2}}]"#),
    ("setpath([\"a\",\"b\"]; 1)", "null", r#"[{"a":{"b":1}}]"#),
    ("setpath([0,\"a\"]; 1)", "null", r#"[[{"a":1}]]"#),
    ("setpath([2]; 1)", "[0]", "[[0,null,1]]"),
    ("setpath([\"a\"]; 9)", r#"{"z":0,"a":1,"b":2}"#, r#"[{"z":0,"a":9,"b":2}]"#),
    ("pick(.a.b, .c)", r#"{"a":{"b":1,"x":2},"c":3,"d":4}"#, r#"[{"a":{"b":1},"c":3}]"#),
    ("pick(first)", "[1,2]", "[[1]]"),
    // control flow
    ("if . == 1 then \"one\" elif . == 2 then \"two\" else \"many\" end", "2", r#"["two"]"#),
    ("reduce .[] as $x (0; . + $x)", "[1,2,3]", "[6]"),
    ("try error(\"x\") catch .", "null", r#"["x"]"#),
    ("[.[] | (1 / .)?]", "[1]", "[[1]]"),
    ("\"\\u00e9\" | @base64", "null", r#"["w6k="]"#),
    ("\"w6k=\" | @base64d", "null", r#"["é"]"#),
    ("\"cWl4YmF6Cg\" | @base64d", "null", "[\"qixbaz\\n\"]"),
    ("\"a b&c/é\" | @uri", "null", r#"["a%20b%26c%2F%C3%A9"]"#),
    ("[1,\"a\\\"b\",null,true] | @csv", "null", r#"["1,\"a\"\"b\",,true"]"#),
    ("[1,\"a\\tb\",null] | @tsv", "null", r#"["1\ta\\tb\t"]"#),
    ("[1,2] | @text, @json", "null", r#"["[1,2]","[1,2]"]"#),
    ("@json \"v=\\(.)\"", r#""x""#, r#"["v=\"x\""]"#),
    ("now | type", "null", r#"["number"]"#),
    ("1425599621 | todate", "null", r#"["2015-03-05T23:53:41Z"]"#),
    ("\"2015-03-05T23:53:41Z\" | fromdate", "null", "[1425599621]"),
    ("try (\"2015-03-05T23:53:41.000Z\" | fromdate) catch \"E\"", "null", r#"["E"]"#),
    ("1425599621 | strftime(\"%Y-%m-%d\")", "null", r#"["2015-03-05"]"#),
    ("\"2015-03-05\" | strptime(\"%Y-%m-%d\") | mktime", "null", "[1425513600]"),
    ("env | length, ($ENV | length)", "null", "[0,0]"),
    ("'/'", "null", r#"["/"]"#),
    (".a + '/' + .b", r#"{"a":"x","b":"y"}"#, r#"["x/y"]"#),
    ("nan, infinite, -infinite", "null", "[null,1.7976931348623157e+308,-1.7976931348623157e+308]"),
    ("3.0", "null", "[3.0]"),
    // Destructuring as jq 1.8.2 (rewritten for jaq's parser): `$b: pattern` binds `$b` too, and
    // `?//` tries the next alternative when a pattern or the body fails.
    (". as {$a, $b: [$c]} | [$a, $b, $c]", r#"{"a":1,"b":[2]}"#, "[[1,[2],2]]"),
    (".[] as [$a] ?// $a | $a", "[[1],2]", "[1,2]"),
    (
        ".[] as [$a] ?// [$b] | if $a != null then error(\"x\") else [$a, $b] end",
        "[[3]]",
        "[[null,3]]",
    ),
    ("[reduce .[] / .[] as $i (0; . + $i)]", "[1,2]", "[[4.5]]"),
    ("select(. > .5)", "0.75", "[0.75]"),
];

/// Equal values, numbers by their text (serde_json reads an exponent `E+3` as `e+3`).
fn same_text(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_str().eq_ignore_ascii_case(y.as_str()),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_text(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((k, a), (l, b))| k == l && same_text(a, b))
        }
        _ => a == b,
    }
}

#[test]
fn builtins_match_jq_1_8_2() {
    let mut failures = Vec::new();
    for (prog, input, expected) in CASES {
        let input: Value = serde_json::from_str(input).unwrap();
        let expected: Value = serde_json::from_str(expected).unwrap();
        match all(prog, input) {
            Ok(got) if same_text(&Value::Array(got.clone()), &expected) => {}
            Ok(got) => {
                failures.push(format!("{prog}: expected {expected}, got {}", Value::Array(got)))
            }
            Err(e) => failures.push(format!("{prog}: expected {expected}, got error {e}")),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn errors_are_errors() {
    assert!(fails(".a", "1".parse().unwrap()).contains("index"));
    assert!(!fails("{} + 1", Value::Null).is_empty());
    assert_eq!(fails("error(\"boom\")", Value::Null), "boom");
    assert_eq!(fails("error({\"a\":1})", Value::Null), "{\"a\":1} (not a string)");
    assert!(fails("halt", Value::Null).contains("halt"));
}

#[test]
fn compile_errors_name_the_place() {
    let e = Program::compile(".a | ", &JqOptions::default()).unwrap_err();
    assert!(e.message.contains("syntax error"), "{e}");
    let e = Program::compile(".a | nosuchfn(1)", &JqOptions::default()).unwrap_err();
    assert!(e.message.contains("nosuchfn"), "{e}");
    assert_eq!(e.offset, Some(5));
    assert_eq!((e.line, e.col), (Some(1), Some(6)));
    // Undefined in jq 1.8.2 too.
    assert!(Program::compile("dateadd(\"seconds\"; 1)", &JqOptions::default()).is_err());
}

#[test]
fn env_is_off_by_default_and_on_when_allowed() {
    // SAFETY-free: reading a variable the test process always has.
    let p = Program::compile("$ENV.PATH | type", &JqOptions { allow_env: true }).unwrap();
    assert_eq!(p.first(&Value::Null).unwrap(), Some(json!("string")));
    let p = Program::compile("env.PATH | type", &JqOptions { allow_env: true }).unwrap();
    assert_eq!(p.first(&Value::Null).unwrap(), Some(json!("string")));
    let p = Program::compile("$ENV.PATH, env.PATH", &JqOptions::default()).unwrap();
    assert_eq!(p.all(&Value::Null).unwrap(), vec![Value::Null, Value::Null]);
}

#[test]
fn first_and_all() {
    let p = Program::compile(".[]", &JqOptions::default()).unwrap();
    assert_eq!(p.first(&json!([1, 2])).unwrap(), Some(json!(1)));
    assert_eq!(p.first(&json!([])).unwrap(), None);
    assert_eq!(p.all(&json!([1, 2])).unwrap(), vec![json!(1), json!(2)]);
    let p = Program::compile("range(200000)", &JqOptions::default()).unwrap();
    assert!(p.all(&Value::Null).is_err());
    assert_eq!(p.first(&Value::Null).unwrap(), Some(json!(0)));
}

#[test]
fn programs_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Program>();
}

#[test]
fn regex_groups_that_did_not_take_part_are_null() {
    assert_eq!(one(r#"capture("(?<x>a)?b")"#, json!("b")), json!({"x": null}));
    let m = one(r#"match("(?<x>a)?b")"#, json!("b"));
    assert_eq!(m["captures"], json!([{"offset": -1, "length": 0, "string": null, "name": "x"}]));
    // Offsets and lengths count codepoints; `\b` is Unicode-aware.
    assert_eq!(one(r#"match("b+").offset"#, json!("ééb")), json!(2));
    assert_eq!(one(r#"[match(".+?\\b").length]"#, json!("a\u{0304}")), json!([2]));
    // A global search reports the empty match at the end, like jq.
    assert_eq!(
        one(r#"gsub("[^a-z]*(?<x>[a-z]*)"; "Z\(.x)")"#, json!("123foo456bar")),
        json!("ZfooZbarZ")
    );
    assert_eq!(one(r#"[match("( )*"; "gn")]"#, json!("abc")), json!([]));
    // Each output of the replacement gives one result.
    assert_eq!(
        all(r#"gsub("(?<a>.)"; "\(.a|ascii_upcase)", "\(.a|ascii_downcase)")"#, json!("aB")),
        Ok(vec![json!("AB"), json!("ab")])
    );
    assert_eq!(one(r#"[splits(", *")]"#, json!("a, b,c")), json!(["a", "b", "c"]));
    assert_eq!(one(r#"test("A"; "i")"#, json!("xa")), json!(true));
    assert!(fails(r#"test("a"; "q")"#, json!("a")).contains("is not a valid modifier string"));
    assert!(fails(r#"test("a")"#, json!(1)).contains("cannot be matched, as it is not a string"));
}

#[test]
fn deletion_resolves_indices_against_the_original_array() {
    let input = json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(one("del(.[1], .[-6], .[2], .[-3:9])", input), json!([0, 3, 5, 6, 9]));
    assert_eq!(one("del(.[2:4], .[0], .[-2:])", json!([0, 1, 2, 3, 4, 5, 6, 7])), json!([1, 4, 5]));
    assert_eq!(one("delpaths([[-200]])", json!([1, 2, 3])), json!([1, 2, 3]));
    assert_eq!(
        one("del(.a.b, .c)", json!({"a": {"b": 1, "x": 2}, "c": 3, "d": 4})),
        json!({"a": {"x": 2}, "d": 4})
    );
    assert_eq!(one("del(.[0].a, .[1])", json!([{"a": 1, "b": 2}, 3])), json!([{"b": 2}]));
    assert_eq!(fails(r#"delpaths([["a"]])"#, json!(1)), "Cannot delete fields from number");
    assert_eq!(fails("delpaths([[true]])", json!([1])), "Cannot delete boolean element of array");
    assert_eq!(fails("delpaths([[1]])", json!({"a": 1})), "Cannot delete number field of object");
}

#[test]
fn stream_and_string_builtins_raise_jq_errors() {
    assert_eq!(fails("limit(-1; 1, 2)", json!(null)), "limit doesn't support negative count");
    assert_eq!(one("[limit(2; 1, 2, 3)]", json!(null)), json!([1, 2]));
    assert_eq!(one("[nth(5, 7; range(9; 0; -1))]", json!(null)), json!([4, 2]));
    assert_eq!(fails("ltrimstr(1)", json!("hi")), "startswith() requires string inputs");
    assert_eq!(fails("rtrimstr(\"a\")", json!(1)), "endswith() requires string inputs");
    assert_eq!(one("ltrimstr(\"a\")", json!("ab")), json!("b"));
    assert_eq!(
        fails("join(\",\")", json!(["1", {"a": 1}])),
        r#"string ("1,") and object ({"a":1}) cannot be added"#
    );
    assert_eq!(one("join(\"-\")", json!(["a", 1, null, true])), json!("a-1--true"));
    assert_eq!(one("[trim, ltrim, rtrim]", json!(" \tx \n")), json!(["x", "x \n", " \tx"]));
    assert_eq!(one("trim", json!("\u{85}\u{a0}\u{2003}\u{3000}x\u{2028}\u{202f}")), json!("x"));
    assert_eq!(fails("trim", json!(1)), "trim input must be a string");
    assert_eq!(one("@urid", json!("a%20b%C3%A9")), json!("a bé"));
    assert_eq!(fails("@urid", json!("abc%")), r#"string ("abc%") is not a valid uri encoding"#);
}

#[test]
fn broken_down_times_may_be_short() {
    assert_eq!(
        one(r#"strftime("%Y-%m-%dT%H:%M:%SZ")"#, json!([2024, 2, 15])),
        json!("2024-03-15T00:00:00Z")
    );
    assert_eq!(one("mktime", json!([2024, 8, 21])), json!(1726876800));
    assert_eq!(fails("mktime", json!(["a", 1])), "mktime requires parsed datetime inputs");
    assert_eq!(fails("strftime([])", json!(0)), "strftime/1 requires a string format");
    assert_eq!(one(r#"todate"#, json!(1726876800)), json!("2024-09-21T00:00:00Z"));
}

#[test]
fn type_checks_use_jq_messages() {
    assert_eq!(
        one("[.[] | toboolean]", json!([true, "false", "true"])),
        json!([true, false, true])
    );
    assert_eq!(fails("toboolean", json!("tru")), r#"string ("tru") cannot be parsed as a boolean"#);
    assert_eq!(one("utf8bytelength", json!("é")), json!(2));
    assert_eq!(
        fails("utf8bytelength", json!([])),
        "array ([]) only strings have UTF-8 byte length"
    );
    assert_eq!(fails("flatten(-1)", json!([[1]])), "flatten depth must not be negative");
    assert_eq!(one("flatten(1)", json!([[1, [2]]])), json!([1, [2]]));
    assert_eq!(fails("setpath([1]; 1)", json!({})), "Cannot index object with number (1)");
    assert_eq!(
        fails("setpath([[1]]; 1)", json!([1])),
        "Cannot update field at array index of array"
    );
}

#[test]
fn arithmetic_follows_jq() {
    assert_eq!(
        one(r#"[. * 0, . * 0.5, . * 2.5, 3 * ., . * -1, . * nan]"#, json!("ab")),
        json!(["", "", "abab", "ababab", null, null])
    );
    assert_eq!(fails(". * 1000000000", json!("abc")), "Repeat string result too long");
    assert_eq!(
        fails("1 / .", json!(0)),
        "number (1) and number (0) cannot be divided because the divisor is zero"
    );
    assert_eq!(
        fails("5 % .", json!(0.5)),
        "number (5) and number (0.5) cannot be divided (remainder) because the divisor is zero"
    );
    assert_eq!(one("[5.5 % 2, -5 % 3, 5 % -1]", json!(null)), json!([1, -2, 0]));
    assert_eq!(fails(". - 1", json!("a")), r#"string ("a") and number (1) cannot be subtracted"#);
    assert_eq!(
        fails("-.", json!("very-long-long-long-long-string")),
        r#"string ("very-long-long-long-long...") cannot be negated"#
    );
    assert_eq!(one("[-., -1, .[0]?]", json!(2)), json!([-2, -1]));
    // jq loops over the right operand outside (jaq does the opposite).
    assert_eq!(one("[(1,2) * (3,4)]", json!(null)), json!([3, 6, 4, 8]));
    // Ordinary arithmetic is unchanged.
    assert_eq!(
        one(
            r#"[1 + 2, 7 / 2, "a" + "b", [1] + [2], {a: 1} + {b: 2}, null + 1, "a,b" / ","]"#,
            json!(null)
        ),
        json!([3, 3.5, "ab", [1, 2], {"a": 1, "b": 2}, 1, ["a", "b"]])
    );
    assert_eq!(one(r#"reduce .[] as $x (0; . + $x) | "\(. * 2)""#, json!([1, 2])), json!("6"));
}

#[test]
fn the_arithmetic_rewrite_keeps_every_other_construct() {
    // A program that uses every kind of term; the rewritten text must mean the same.
    let prog = r#"def f($a; g): [g, $a]; . as [$x, {b: $y}]
        | reduce (.[0], 1) as $i (0; . + $i) as $s
        | {a: $x, "k": 1, $y, (.[0] | tostring): -$s}
        | [f(1; 2)[], (try error("e") catch .), (if .a > 0 then "p" elif .a < 0 then "n" else "z" end),
           (.zz?), ([.[]?] | .[1:]), "\(.a * 2)\t\"q\"", @base64 "x\(1)", [label $out | 1, break $out, 2]]"#;
    let rewritten = super::arith::rewrite(prog).expect("the program has arithmetic");
    assert!(rewritten.contains("_jq_math("), "{rewritten}");
    let input = json!([3, {"b": "y"}]);
    let expected = json!([2, 1, "e", "p", null, [1, "y", -4], "6\t\"q\"", "xMQ==", [1]]);
    assert_eq!(one(&rewritten, input.clone()), expected, "{rewritten}");
    assert_eq!(one(prog, input), expected);
    assert!(super::arith::rewrite(".a | .b").is_none());
    assert!(super::arith::rewrite(".[-1]").is_none());
}

#[test]
fn core_errors_read_like_jq() {
    assert_eq!(one("try .a catch .", json!(1)), json!(r#"Cannot index number with string ("a")"#));
    assert_eq!(
        one(r#"try .["a"] catch ."#, json!([1])),
        json!(r#"Cannot index array with string ("a")"#)
    );
    assert_eq!(
        one("[.[] | try .a[] catch .]", json!([{"a": 123}])),
        json!(["Cannot iterate over number (123)"])
    );
    // A value whose text contains " with " is still split right.
    assert_eq!(
        one(r#"try .[" with "] catch ."#, json!([1])),
        json!(r#"Cannot index array with string (" with ")"#)
    );
    // Errors raised by `error` are left alone, and so is the message reported to the caller
    // unless it comes from jaq's core.
    assert_eq!(
        one(r#"try error("cannot index me") catch ."#, json!(null)),
        json!("cannot index me")
    );
    assert_eq!(fails("[.a[]]", json!({"a": 123})), "Cannot iterate over number (123)");
    assert_eq!(fails("error(\"x\")", json!(null)), "x");
}
