#!/usr/bin/env bash
# Whole-process resync benchmark, as users run it: `okta-sim` and `port-okta sync` are separate
# processes, and `port-okta sync` runs under /usr/bin/time -v (wall time, peak RSS).
#
#   cargo build --release
#   benches/sync.sh USERS GROUPS APPS LATENCY_MS RATE_LIMIT_SCALE [DELETE_N]
#
# With DELETE_N, a first sync fills the catalog, DELETE_N active users are deleted in okta-sim,
# and the measured sync is the second one (it deletes them, each confirmed by a direct read).
# Prints the sync's --json counters, wall time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release}
users=$1 groups=$2 apps=$3 latency=$4 scale=$5 delete=${6:-0}
work=$(mktemp -d)
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true; rm -rf "$work"' EXIT
$bin/okta-sim --listen 127.0.0.1:0 --users "$users" --groups "$groups" --apps "$apps" --seed 1 \
  --token bench --latency-ms "$latency" --rate-limit-scale "$scale" > "$work/sim.out" 2>/dev/null &
sim=$!
for _ in $(seq 1 600); do grep -q listening "$work/sim.out" && break; sleep 0.1; done
url=$(head -1 "$work/sim.out" | sed 's/listening on //')
export OKTA_DOMAIN=$url OKTA_API_TOKEN=bench NO_PROXY=127.0.0.1
sync=($bin/port-okta sync --json --catalog "sqlite:$work/catalog.db"
  --mapping examples/full/port-app-config.yml --blueprints examples/full/blueprints.json)
if [ "$delete" -gt 0 ]; then
  "${sync[@]}" > /dev/null 2>&1
  curl -s --noproxy '*' "$url/__sim/export" | python3 -c "
import json, sys
users = [u['id'] for u in json.load(sys.stdin)['users'] if u['status'] == 'ACTIVE']
print('\n'.join(users[:$delete]))" > "$work/victims"
  while read -r id; do
    for _ in 1 2; do
      curl -s --noproxy '*' -X DELETE -H "Authorization: SSWS bench" "$url/api/v1/users/$id" > /dev/null
    done
  done < "$work/victims"
fi
curl -s --noproxy "*" -X POST "$url/__sim/ratelimits/reset" > /dev/null
/usr/bin/time -v "${sync[@]}" > "$work/summary.json" 2> "$work/time.txt" || true
python3 - "$work/summary.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
k = d["kinds"]
print(f"requests {d['okta_requests']} (verify reads {d.get('verify_reads', '-')}), 429 {d['okta_429']}, "
      f"deletion {d['deletion']}, verified deletes {d.get('verified_deletes', '-')}, "
      f"users {k['okta-user']['upserted']} (deleted {k['okta-user']['deleted']}), "
      f"groups {k['okta-group']['upserted']}, listing errors {len(d['listing_errors'])}")
EOF
grep -E "Elapsed \(wall|Maximum resident" "$work/time.txt"
