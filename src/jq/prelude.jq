# port-okta's compatibility prelude: loaded after jaq's standard library so that the builtins
# mappings use behave like jq 1.8.2. Written from the jq 1.8 manual; natives are in funs.rs.

# Text output with jq's number formatting.
def tostring: _jq_tostring;
def tojson: _jq_tojson;
def @text: _jq_tostring;
def @json: _jq_tojson;
def tonumber: _jq_tonumber;
def @base64d: _jq_base64d;
def @urid: _jq_urid;
def @html: tostring | escape_html;
def @uri: tostring | encode_uri;
def @base64: tostring | encode_base64;

# join: null joins as "", booleans and numbers as text, anything else must be a string.
def join($sep):
  reduce .[] as $x (null;
    (if . == null then "" else . + $sep end) as $acc
    | $x
    | if type == "boolean" or type == "number" then $acc + tostring
      elif . == null then $acc
      elif type == "string" then $acc + .
      else error("\($acc | _jq_describe) and \(_jq_describe) cannot be added") end
  ) // "";

def @sh:
  [ if type == "array" then .[] else . end
    | if type == "string" then "'" + escape_sh + "'"
      elif type == "array" or type == "object" then error("\(type) (\(tojson)) can not be escaped for shell")
      else tostring end
  ] | join(" ");

# Entries: from_entries reads key/Key/name/Name and value/Value; keys must be strings.
def to_entries: [keys_unsorted[] as $k | {key: $k, value: .[$k]}];
def from_entries:
  reduce .[] as $e ({};
    . + { ($e | (.key // .Key // .name // .Name)
              | if type == "string" then . else error("Object keys must be strings") end):
          ($e | if has("value") then .value else .Value end) });
def with_entries(f): to_entries | map(f) | from_entries;

# SQL-style helpers.
def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] = $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;

# Trimming: non-strings are an error (jq 1.8), a missing affix leaves the input unchanged.
def ltrimstr($x):
  if type != "string" or ($x | type) != "string" then error("startswith() requires string inputs")
  elif startswith($x) then .[($x | length):] else . end;
def rtrimstr($x):
  if type != "string" or ($x | type) != "string" then error("endswith() requires string inputs")
  elif endswith($x) then .[:length - ($x | length)] else . end;
def trim: _jq_trim(0);
def ltrim: _jq_trim(1);
def rtrim: _jq_trim(2);
def trimstr($x): ltrimstr($x) | rtrimstr($x);

# Deletion keeps the order of the remaining keys; array indices and slices of one array are
# resolved against it before any element is removed.
def delpaths($ps): _jq_delpaths($ps);
def del(f): delpaths([path(f)]);
def setpath($p; $x): _jq_setpath($p; $x);
# Assignment as jq 1.8.2 defines it (`arith.rs` rewrites `l = r`, `l |= r`, `l op= r` and
# `l //= r` to these), so paths through null create objects and arrays.
def _jq_assign(paths; $value): reduce path(paths) as $p (.; setpath($p; $value));
def _jq_modify(paths; update):
  reduce path(paths) as $p ([., []];
      . as $dot
    | null
    | label $out
    | ($dot[0] | getpath($p)) as $v
    | ( ( $v | update | (., break $out) as $v | $dot | setpath([0] + $p; $v) ),
        ( $dot | setpath([1, (.[1] | length)]; $p) ) ))
  | . as $dot | $dot[0] | delpaths($dot[1]);
def pick(pathexps): . as $in | reduce path(pathexps) as $a (null; setpath($a; $in | getpath($a)));

# Dates as jq 1.8.2 on glibc: strptime accepts out-of-range days (2024-02-30), mktime
# normalises every field like C's timegm, strftime of a broken-down time normalises it first,
# and `%Z` of a UTC time is `GMT`. Broken-down times may be short (missing fields are 0).
def _jaq_strftime($f): strftime($f);
def _jaq_strflocaltime($f): strflocaltime($f);
def _jaq_strptime($f): strptime($f);
def _jq_bdt($what):
  if type == "array" and length > 0 and all(.[]; type == "number") then . + [range(length; 8) | 0]
  else error("\($what) requires parsed datetime inputs") end;
def strptime($f): _jq_strptime($f) // _jaq_strptime($f);
def mktime: _jq_timegm(true);
def strftime($f):
  if ($f | type) != "string" then error("strftime/1 requires a string format")
  elif type == "number" then _jaq_strftime($f | _jq_gmtz)
  else _jq_bdt("strftime/1") | _jq_timegm(false) | _jaq_strftime($f | _jq_gmtz) end;
def strflocaltime($f):
  if ($f | type) != "string" then error("strflocaltime/1 requires a string format")
  elif type == "number" then _jaq_strflocaltime($f)
  else _jq_bdt("strflocaltime/1") | _jaq_strflocaltime($f) end;
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def fromdate: fromdateiso8601;
def todate: todateiso8601;

# Regular expressions (Unicode-aware, natively in funs.rs): flags may be null, and the
# one-argument forms accept [re, flags]. Groups that did not take part are null, as in jq.
def _jq_re_args: if type == "string" then [., null]
  elif type == "array" and length > 1 then [.[0], .[1]]
  elif type == "array" and length > 0 then [.[0], null]
  else error("\(type) not a string or array") end;
def match($re; $flags): _jq_match($re; $flags; false)[];
def match($v): ($v | _jq_re_args) as [$r, $f] | match($r; $f);
def test($re; $flags): _jq_match($re; $flags; true);
def test($v): ($v | _jq_re_args) as [$r, $f] | test($r; $f);
def _jq_captures: reduce (.captures[] | select(.name != null)) as $c ({}; .[$c.name] = $c.string);
def capture($re; $flags): match($re; $flags) | _jq_captures;
def capture($v): ($v | _jq_re_args) as [$r, $f] | capture($r; $f);
def scan($re; $flags):
  match($re; "g" + ($flags // ""))
  | if (.captures | length) > 0 then [.captures[].string] else .string end;
def scan($re): scan($re; null);
def splits($re; $flags):
  . as $in
  | (reduce match($re; ($flags // "") + "g") as $m ({parts: [], at: 0};
       .parts += [$in[.at:$m.offset]] | .at = $m.offset + $m.length))
  | (.parts[], $in[.at:]);
def splits($re): splits($re; null);
def split($re; $flags): [splits($re; $flags)];
# sub: each output of f gives one result string (the n-th outputs for every match together).
def sub($re; f; $flags):
  . as $in
  | (reduce match($re; $flags) as $m ({outs: [], at: 0};
       $in[.at:$m.offset] as $gap
       | [$m | _jq_captures | f] as $new
       | reduce range(0; $new | length) as $i (.; .outs |= setpath([$i]; .[$i] + $gap + $new[$i]))
       | .at = $m.offset + $m.length)
     | .outs[] + $in[.at:])
    // $in;
def sub($re; f): sub($re; f; "");
def gsub($re; f; $flags): sub($re; f; ($flags // "") + "g");
def gsub($re; f): sub($re; f; "g");

# Streams: jq 1.8's definitions, with its errors for negative counts.
def limit($n; f):
  if $n > 0 then label $out | foreach f as $item (0; . + 1; $item, if . >= $n then break $out else empty end)
  elif $n == 0 then empty
  else error("limit doesn't support negative count") end;
def skip($n; f):
  if $n > 0 then foreach f as $item (0; . + 1; if . > $n then $item else empty end)
  elif $n == 0 then f
  else error("skip doesn't support negative count") end;
def nth($n; f): if $n < 0 then error("nth doesn't support negative indices") else first(skip($n; f)) end;
def nth($n): .[$n];

# Type checks with jq 1.8's messages.
def toboolean:
  if type == "boolean" then . elif . == "true" then true elif . == "false" then false
  else error("\(_jq_describe) cannot be parsed as a boolean") end;
def _jaq_utf8bytelength: utf8bytelength;
def utf8bytelength:
  if type == "string" then _jaq_utf8bytelength
  else error("\(_jq_describe) only strings have UTF-8 byte length") end;
def _jaq_flatten($d): flatten($d);
def flatten($d): if $d < 0 then error("flatten depth must not be negative") else _jaq_flatten($d) end;

# Arithmetic as jq 1.8.2 does it: `arith.rs` rewrites `l op r` to `_jq_math(l; r; op)`. Like
# jq (and unlike jaq), the right operand is the outer loop: [(1,2) * (3,4)] is [3,6,4,8].
def _jq_math(l; r; $op): r as $r | l as $l | _jq_arith($l; $r; $op);

# Numbers keep their literal: length and abs of a number negate a negative one (`-1.50|abs`
# is 1.50) instead of computing a double.
def _jaq_length: length;
def length:
  if type == "number" then (if . < 0 then -. else . end)
  elif type == "boolean" then error("\(_jq_describe) has no length")
  else _jaq_length end;
def abs: if . < 0 then _jq_neg else . end;

# Misc jq 1.8 builtins jaq lacks.
def have_decnum: true;
# jq 1.8.2's own `builtins` list, less the filters this engine does not have (streaming,
# modules, inputs, format/1, lgamma_r).
def builtins: [
  "IN/1", "IN/2", "INDEX/1", "INDEX/2", "JOIN/2", "JOIN/3", "JOIN/4", "abs/0", "acos/0",
  "acosh/0", "add/0", "add/1", "all/0", "all/1", "all/2", "any/0", "any/1", "any/2", "arrays/0",
  "ascii_downcase/0", "ascii_upcase/0", "asin/0", "asinh/0", "atan/0", "atan2/2", "atanh/0",
  "booleans/0", "bsearch/1", "builtins/0", "capture/1", "capture/2", "cbrt/0", "ceil/0",
  "combinations/0", "combinations/1", "contains/1", "copysign/2", "cos/0", "cosh/0", "debug/0",
  "debug/1", "del/1", "delpaths/1", "drem/2", "empty/0", "endswith/1", "env/0", "erf/0",
  "erfc/0", "error/0", "error/1", "exp/0", "exp10/0", "exp2/0", "explode/0", "expm1/0", "fabs/0",
  "fdim/2", "finites/0", "first/0", "first/1", "flatten/0", "flatten/1", "floor/0", "fma/3",
  "fmax/2", "fmin/2", "fmod/2", "frexp/0", "from_entries/0", "fromdate/0", "fromdateiso8601/0",
  "fromjson/0", "gamma/0", "getpath/1", "gmtime/0", "group_by/1", "gsub/2", "gsub/3", "halt/0",
  "halt_error/0", "halt_error/1", "has/1", "have_decnum/0", "have_literal_numbers/0", "hypot/2",
  "implode/0", "in/1", "index/1", "indices/1", "infinite/0", "input_filename/0", "inside/1",
  "isempty/1", "isfinite/0", "isinfinite/0", "isnan/0", "isnormal/0", "iterables/0", "j0/0",
  "j1/0", "jn/2", "join/1", "keys/0", "keys_unsorted/0", "last/0", "last/1", "ldexp/2",
  "length/0", "lgamma/0", "limit/2", "localtime/0", "log/0", "log10/0", "log1p/0", "log2/0",
  "logb/0", "ltrim/0", "ltrimstr/1", "map/1", "map_values/1", "match/1", "match/2", "max/0",
  "max_by/1", "min/0", "min_by/1", "mktime/0", "modf/0", "nan/0", "nearbyint/0", "nextafter/2",
  "nexttoward/2", "normals/0", "not/0", "now/0", "nth/1", "nth/2", "nulls/0", "numbers/0",
  "objects/0", "path/1", "paths/0", "paths/1", "pick/1", "pow/2", "range/1", "range/2",
  "range/3", "recurse/0", "recurse/1", "recurse/2", "remainder/2", "repeat/1", "reverse/0",
  "rindex/1", "rint/0", "round/0", "rtrim/0", "rtrimstr/1", "scalars/0", "scalb/2", "scalbln/2",
  "scan/1", "scan/2", "select/1", "setpath/2", "significand/0", "sin/0", "sinh/0", "skip/2",
  "sort/0", "sort_by/1", "split/1", "split/2", "splits/1", "splits/2", "sqrt/0", "startswith/1",
  "stderr/0", "strflocaltime/1", "strftime/1", "strings/0", "strptime/1", "sub/2", "sub/3",
  "tan/0", "tanh/0", "test/1", "test/2", "tgamma/0", "to_entries/0", "toboolean/0", "todate/0",
  "todateiso8601/0", "tojson/0", "tonumber/0", "tostring/0", "transpose/0", "trim/0",
  "trimstr/1", "trunc/0", "type/0", "unique/0", "unique_by/1", "until/2", "utf8bytelength/0",
  "values/0", "walk/1", "while/2", "with_entries/1", "y0/0", "y1/0", "yn/2"
];
def _strindices($i):
  if type != "string" then error("\(_jq_describe) cannot be searched, as it is not a string")
  elif ($i | type) != "string" then error("\($i | _jq_describe) is not a string")
  else indices($i) end;
def _jaq_bsearch($t): bsearch($t);
def bsearch($t):
  if type != "array" then error("\(_jq_describe) cannot be searched from") else _jaq_bsearch($t) end;
def _jaq_has($k): has($k);
def has($k): if type == "array" and ($k | type) == "number" and ($k | isnan) then false else _jaq_has($k) end;
# jq reads `nan` (any case, with a sign) as NaN.
def _jaq_fromjson: fromjson;
def fromjson:
  if type == "string" and test("^\\s*[-+]?nan\\s*$"; "i") then nan else _jaq_fromjson end;
# Marks destructuring alternatives for `arith.rs`, which replaces it (see `rewrite::ALT_MARKER`).
def _jq_alt_marker: error("destructuring alternatives (?//) could not be compiled");
def input_filename: null;
# jq 1.8.2 has no base32 format (its manual does not list one either).
def @base32: error("base32 is not a valid format");
def @base32d: error("base32d is not a valid format");
def have_literal_numbers: true;
