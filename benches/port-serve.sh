#!/usr/bin/env bash
# 100,000 entities through the Port client into `port-okta catalog serve` on loopback, measured
# as whole processes under /usr/bin/time -v: `port-okta sync` (okta-sim → Port client) and
# `port-okta catalog serve` (Port's API over SQLite), then the same org synced straight into
# SQLite as the baseline. Prints one summary line per process; keeps its files in $WORK.
# Usage: cargo build --release -p port-okta -p okta-sim && bash benches/port-serve.sh
# Environment: N_USERS (99800), N_GROUPS (200), N_APPS (0), WORK (a new temp dir).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/target/release/port-okta"
sim="$root/target/release/okta-sim"
users="${N_USERS:-99800}" groups="${N_GROUPS:-200}" apps="${N_APPS:-0}"
work="${WORK:-$(mktemp -d)}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The first stdout line of a server is `listening on http://ADDR`.
url_of() {
    for _ in $(seq 600); do
        if [[ -s "$1" ]]; then sed -n 's/^listening on //p' "$1" | head -1; return; fi
        sleep 0.1
    done
    echo "no listening line in $1" >&2; exit 1
}

"$sim" --listen 127.0.0.1:0 --users "$users" --groups "$groups" --apps "$apps" --seed 7 \
    --token bench-token --rate-limit-scale 100 > "$work/sim.out" &
pids+=($!)
sim_url="$(url_of "$work/sim.out")"

export OCEAN__PORT__CLIENT_ID=bench OCEAN__PORT__CLIENT_SECRET=bench-secret
/usr/bin/time -v -o "$work/serve.time" "$bin" catalog serve --listen 127.0.0.1:0 \
    --catalog "sqlite:$work/serve.db" > "$work/serve.out" 2> "$work/serve.log" &
serve_time=$!
pids+=($serve_time)
serve_url="$(url_of "$work/serve.out")"

/usr/bin/time -v -o "$work/sync.time" env OKTA_DOMAIN="$sim_url" OKTA_API_TOKEN=bench-token \
    OCEAN__PORT__BASE_URL="$serve_url" LOG_FORMAT=json "$bin" sync --json \
    > "$work/sync.json" 2> "$work/sync.log"
# Stop the server (time's child) so time reports it.
kill -TERM "$(pgrep -P "$serve_time")"
wait "$serve_time" || true

unset OCEAN__PORT__CLIENT_ID OCEAN__PORT__CLIENT_SECRET
/usr/bin/time -v -o "$work/direct.time" env OKTA_DOMAIN="$sim_url" OKTA_API_TOKEN=bench-token \
    "$bin" sync --json --catalog "sqlite:$work/direct.db" > "$work/direct.json" 2> "$work/direct.log"

python3 - "$work" <<'PY'
import json, re, sys, math
work = sys.argv[1]
def tv(name):
    t = open(f"{work}/{name}.time").read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.*)", t).group(1)
    parts = [float(x) for x in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    cpu = float(re.search(r"User time \(seconds\): (.*)", t).group(1)) + float(re.search(r"System time \(seconds\): (.*)", t).group(1))
    return secs, rss, cpu
sync = json.load(open(f"{work}/sync.json"))
entities = sum(k["upserted"] for k in sync["kinds"].values())
done = [json.loads(l) for l in open(f"{work}/sync.log") if '"port client done"' in l][-1]
calls = done["upsert_calls"]
s, r, c = tv("sync")
print(f"sync via Port: {entities} entities in {s:.1f} s = {entities / s:,.0f} entities/s; "
      f"upsert calls {calls} vs ceil(n/20) {math.ceil(entities / 20)} = {calls / math.ceil(entities / 20):.3f}x; "
      f"peak RSS {r:.1f} MB; CPU {c:.1f} s; deletion {sync['deletion']}; exit entities ok")
s, r, c = tv("serve")
print(f"catalog serve: peak RSS {r:.1f} MB; CPU {c:.1f} s (whole life)")
direct = json.load(open(f"{work}/direct.json"))
n = sum(k["upserted"] for k in direct["kinds"].values())
s, r, c = tv("direct")
print(f"direct SQLite sync (baseline): {n} entities in {s:.1f} s = {n / s:,.0f} entities/s; peak RSS {r:.1f} MB; CPU {c:.1f} s")
PY
echo "files in $work"
