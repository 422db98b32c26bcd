"""Runs the Ocean framework (our tiny integration, ONCE listener) against `port-okta catalog
serve` and checks what it did: the integration created with the integration's default mapping,
blueprints and entities written under Ocean's datasource, a `many` relation sent as one string
stored as a list, the resync state completed, raw examples kept; then a second run without one
user deletes that user through the datasource search and bulk delete — and nobody else's entity.

Usage: ocean_against_serve.py PORT_OKTA_BIN TESTS_OCEAN_DIR. Talks to 127.0.0.1 only."""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

BIN, HERE = sys.argv[1], sys.argv[2]
CLIENT_ID, SECRET = "ocean-test", "ocean-test-secret"
INTEGRATION = "ocean-okta"
# More than 10, so Ocean searches the catalog for the batch's current state before upserting.
USERS = [
    {"id": f"00u{i:02}", "status": "SUSPENDED" if i % 5 == 4 else "ACTIVE",
     "profile": {"login": f"user{i}@x.io"}, "groups": [f"00g{i % 3}", "00g9"] if i % 4 else [],
     "_links": {"self": {"href": f"https://x/api/v1/users/00u{i:02}"}}}
    for i in range(15)
]
IDS = [u["id"] for u in USERS]

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def call(base, method, path, body=None, token=None, ua="port-okta-ocean-test"):
    req = urllib.request.Request(base + path, method=method)
    req.add_header("User-Agent", ua)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, data=data, timeout=30) as r:
        return json.loads(r.read())


def run_ocean(base, users_file):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "NO_PROXY": "127.0.0.1,localhost",
        "OCEAN__PORT__CLIENT_ID": CLIENT_ID,
        "OCEAN__PORT__CLIENT_SECRET": SECRET,
        "OCEAN__PORT__BASE_URL": base,
        "OCEAN__INTEGRATION__IDENTIFIER": INTEGRATION,
        "OCEAN__INTEGRATION__TYPE": "okta",
        "OCEAN__EVENT_LISTENER__TYPE": "ONCE",
        "PORT_OKTA_TEST_USERS": users_file,
    }
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "run_ocean.py"), os.path.join(HERE, "integration")],
        env=env, capture_output=True, text=True, timeout=180,
    )
    log = out.stdout + out.stderr
    return out.returncode, log


def main():
    tmp = tempfile.mkdtemp(prefix="port-okta-ocean-")
    db = os.path.join(tmp, "catalog.db")
    env = dict(os.environ, OCEAN__PORT__CLIENT_ID=CLIENT_ID, OCEAN__PORT__CLIENT_SECRET=SECRET,
               RUST_LOG="info", LOG_FORMAT="json")
    serve_log = open(os.path.join(tmp, "serve.log"), "w")
    serve = subprocess.Popen(
        [BIN, "catalog", "serve", "--listen", "127.0.0.1:0", "--catalog", f"sqlite:{db}"],
        env=env, stdout=subprocess.PIPE, stderr=serve_log, text=True,
    )
    try:
        line = serve.stdout.readline().strip()
        assert line.startswith("listening on "), line
        base = line.removeprefix("listening on ")
        users_file = os.path.join(tmp, "users.json")
        with open(users_file, "w") as f:
            json.dump(USERS, f)

        # Someone else's entity in the same blueprint, written before Ocean ever ran.
        token = call(base, "POST", "/v1/auth/access_token", {"clientId": CLIENT_ID, "clientSecret": SECRET})["accessToken"]

        rc, log = run_ocean(base, users_file)
        check("the first Ocean run exits 0", rc == 0, log[-3000:])
        check("no request of Ocean's failed", "Request failed with status code" not in log,
              [l for l in log.splitlines() if "Request failed" in l][:5])
        integ = call(base, "GET", f"/v1/integration/{INTEGRATION}", token=token)["integration"]
        check("the integration was created with the integration's default mapping",
              integ["config"]["resources"][0]["port"]["entity"]["mappings"]["title"] == ".profile.login", integ["config"])
        check("its resync state is completed", (integ.get("resyncState") or {}).get("status") == "completed", integ.get("resyncState"))
        bps = [b["identifier"] for b in call(base, "GET", "/v1/blueprints", token=token)["blueprints"]]
        check("Ocean created its blueprints", bps == ["okta-group", "okta-user"], bps)
        foreign = {"identifier": "foreign", "title": "not Ocean's", "properties": {"login": "f@x.io"}}
        call(base, "POST", "/v1/blueprints/okta-user/entities/bulk?upsert=true", {"entities": [foreign]},
             token=token, ua="port-ocean/okta/9.9.9/another-integration/exporter")
        found = call(base, "POST", "/v1/entities/search",
                     {"combinator": "and", "rules": [{"property": "$blueprint", "operator": "=", "value": "okta-user"}]},
                     token=token)["entities"]
        by_id = {e["identifier"]: e for e in found}
        check("every user and the foreign one", sorted(by_id) == IDS + ["foreign"], sorted(by_id))
        u1 = by_id.get("00u01", {})
        check("Ocean's datasource is its User-Agent", u1.get("datasource", "").startswith("port-ocean/okta/")
              and u1.get("datasource", "").endswith(f"/{INTEGRATION}/exporter"), u1.get("datasource"))
        check("a many relation sent as one string is stored as a list", u1.get("relations", {}).get("groups") == ["00g1"], u1)
        ex = call(base, "GET", f"/v1/integration/{INTEGRATION}/kinds/okta-user/examples", token=token)["examples"]
        check("raw examples were kept", len(ex) == 5, ex)

        with open(users_file, "w") as f:
            json.dump(USERS[:-1], f)
        rc, log = run_ocean(base, users_file)
        check("the second Ocean run exits 0", rc == 0, log[-3000:])
        found = call(base, "POST", "/v1/entities/search",
                     {"combinator": "and", "rules": [{"property": "$blueprint", "operator": "=", "value": "okta-user"}]},
                     token=token)["entities"]
        ids = sorted(e["identifier"] for e in found)
        check("the user gone from the source was deleted, the foreign entity kept", ids == IDS[:-1] + ["foreign"], ids)
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            serve.kill()
        serve_log.close()
    # The server logs its per-route request counts when it stops.
    stats = {}
    for line in open(os.path.join(tmp, "serve.log")):
        if '"catalog serve stopping"' in line:
            stats = json.loads(line).get("stats", "")
    check("Ocean searched the catalog (its diff before bulk upserts)", '"search": ' in stats, stats)
    check("every request of Ocean's matched a route", '"other"' not in stats, stats)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
