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
def pick(pathexps): . as $in | reduce path(pathexps) as $a (null; setpath($a; $in | getpath($a)));

# Dates: jq's strict format, whole seconds. Broken-down times may be short (missing fields are
# 0) and are checked with jq's messages.
def _jaq_mktime: mktime;
def _jaq_strftime($f): strftime($f);
def _jaq_strflocaltime($f): strflocaltime($f);
def _jq_bdt($what):
  if type == "array" and length > 0 and all(.[]; type == "number") then . + [range(length; 8) | 0]
  else error("\($what) requires parsed datetime inputs") end;
def mktime:
  if type != "array" then error("mktime requires array of 6 numbers")
  else _jq_bdt("mktime") | _jaq_mktime end;
def strftime($f):
  if ($f | type) != "string" then error("strftime/1 requires a string format")
  elif type == "number" then _jaq_strftime($f)
  else _jq_bdt("strftime/1") | _jaq_strftime($f) end;
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
def abs:
  if type == "number" then (if . < 0 then -. else . end)
  else error("\(_jq_describe) has no absolute value") end;

# Misc jq 1.8 builtins jaq lacks.
def have_decnum: true;
def have_literal_numbers: true;
