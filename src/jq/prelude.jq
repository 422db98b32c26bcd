# port-okta's compatibility prelude: loaded after jaq's standard library so that the builtins
# mappings use behave like jq 1.8.2. Written from the jq 1.8 manual; natives are in funs.rs.

# Text output with jq's number formatting.
def tostring: _jq_tostring;
def tojson: _jq_tojson;
def @text: _jq_tostring;
def @json: _jq_tojson;
def tonumber: _jq_tonumber;
def @base64d: _jq_base64d;
def @html: tostring | escape_html;
def @uri: tostring | encode_uri;
def @base64: tostring | encode_base64;

# join: null joins as "", booleans and numbers as text, anything else must be a string.
def join($sep):
  reduce .[] as $x (null;
    (if . == null then "" else . + $sep end)
    + ($x | if type == "boolean" or type == "number" then tostring elif . == null then "" else . end)
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
def ltrimstr($x): if startswith($x) then .[($x | length):] else . end;
def rtrimstr($x): if endswith($x) then .[:length - ($x | length)] else . end;
def trimstr($x): ltrimstr($x) | rtrimstr($x);

# Deletion keeps the order of the remaining keys and deletes array elements from the end.
def delpaths($ps): reduce ($ps | sort | reverse)[] as $p (.; _jq_delpath($p));
def del(f): delpaths([path(f)]);
def setpath($p; $x): _jq_setpath($p; $x);
def pick(pathexps): . as $in | reduce path(pathexps) as $a (null; setpath($a; $in | getpath($a)));

# Dates: jq's strict format, whole seconds.
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def fromdate: fromdateiso8601;
def todate: todateiso8601;

# Regular expressions: flags may be null, and the one-argument forms accept [re, flags].
def _jq_flags($f): if $f == null then "" else $f end;
def test($re; $flags): matches($re; _jq_flags($flags)) | any;
def test($v): if ($v | type) == "array" then test($v[0]; $v[1]) else test($v; null) end;
def match($re; $flags):
  matches($re; _jq_flags($flags))[]
  | .[0] + {captures: [.[1:][] | . + (if has("name") then {} else {name: null} end)]};
def match($v): if ($v | type) == "array" then match($v[0]; $v[1]) else match($v; null) end;
def capture($re; $flags): matches($re; _jq_flags($flags))[] | capture_of_match;
def capture($v): if ($v | type) == "array" then capture($v[0]; $v[1]) else capture($v; null) end;
def scan($re; $flags): scan_($re; "g" + _jq_flags($flags));
def scan($re): scan($re; null);
def splits($re; $flags): split_($re; _jq_flags($flags) + "g")[];
def splits($re): splits($re; null);
def split($re; $flags): [splits($re; $flags)];
def sub($re; f; $flags):
  reduce split_matches($re; _jq_flags($flags))[] as $x ("";
    . + ($x | if type == "array" then capture_of_match | f else . end));
def sub($re; f): sub($re; f; "");
def gsub($re; f; $flags): sub($re; f; "g" + _jq_flags($flags));
def gsub($re; f): sub($re; f; "g");

# Misc jq 1.8 builtins jaq lacks.
def have_decnum: false;
def have_literal_numbers: true;
