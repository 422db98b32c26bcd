#!/usr/bin/env python3
"""Fidelity check of okta-sim with an independent client: Okta's official Python SDK (`okta`).

Starts the okta-sim binary (path in argv[1] or $OKTA_SIM_BIN) on 127.0.0.1:0, reads the
`listening on URL` line, then lists every user (the plain listing hides DEPROVISIONED users,
so they are fetched with `search=status eq "DEPROVISIONED"` too), every group, and every group's
members through the SDK's own pagination, and asserts they equal `GET /__sim/export`.
The simulator is always stopped at the end. Exit status 0 only if every check passed.
"""

import asyncio
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import threading
import urllib.request

# The SDK refuses non-HTTPS org URLs unless its testing flag is set. The flag lives in the
# `testing` config section, which the SDK reads from the environment (OKTA_TESTING_*).
os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"

from okta.client import Client  # noqa: E402
from okta.pagination import PaginationHelper  # noqa: E402

USERS, GROUPS, APPS, SEED = 700, 40, 8, 11
RESULTS = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    if ok:
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def start_sim(binary, token):
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--users", str(USERS), "--groups", str(GROUPS),
         "--apps", str(APPS), "--seed", str(SEED), "--token", token],
        stdout=subprocess.PIPE, text=True)
    line = {}

    def read():
        line["v"] = proc.stdout.readline()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(60)
    first = line.get("v", "")
    if not first.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"okta-sim did not start (first line: {first!r})")
    return proc, first.split("listening on ", 1)[1].strip()


def enum_value(v):
    return getattr(v, "value", v)


def ts(v):
    """A timestamp from the SDK (datetime) or the export (string), as epoch milliseconds."""
    if v is None:
        return None
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    return round(v.timestamp() * 1000)


async def all_pages(call, **kwargs):
    """Follows the SDK's pagination: the `after` cursor of the Link rel="next" header."""
    items, pages = [], 0
    after = None
    while pages < 10_000:
        page, resp, err = await call(**kwargs, **({"after": after} if after else {}))
        if err is not None:
            raise RuntimeError(f"SDK error: {err}")
        items.extend(page or [])
        pages += 1
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after or not page:
            break
    return items, pages


async def run(url, token):
    export = json.load(urllib.request.urlopen(f"{url}/__sim/export", timeout=30))
    exp_users = {u["id"]: u for u in export["users"]}
    exp_groups = {g["id"]: g for g in export["groups"]}
    client = Client({"orgUrl": url, "token": token})

    listed, pages = await all_pages(client.list_users, limit=200)
    deprov, _ = await all_pages(client.list_users, search='status eq "DEPROVISIONED"', limit=200)
    check("users: several pages", pages >= 3, f"pages={pages}")
    check("users: plain list hides DEPROVISIONED",
          all(enum_value(u.status) != "DEPROVISIONED" for u in listed))
    check("users: search returns only DEPROVISIONED",
          len(deprov) > 0 and all(enum_value(u.status) == "DEPROVISIONED" for u in deprov))
    ids = [u.id for u in listed] + [u.id for u in deprov]
    check("users: no duplicates across pages", len(ids) == len(set(ids)))
    check("users: exactly the exported users", set(ids) == set(exp_users),
          f"sdk={len(set(ids))} export={len(exp_users)}")
    mismatches = []
    for u in listed + deprov:
        e = exp_users.get(u.id)
        if e is None:
            continue
        p = u.profile
        got = (enum_value(u.status), ts(u.created), ts(u.last_updated), ts(u.activated),
               ts(u.status_changed), ts(u.last_login), ts(u.password_changed), u.type.id,
               p.login, p.email, p.first_name, p.last_name, p.display_name, p.department,
               getattr(p, "manager_id", None), getattr(p, "manager", None))
        ep = e["profile"]
        want = (e["status"], ts(e["created"]), ts(e["lastUpdated"]), ts(e["activated"]),
                ts(e["statusChanged"]), ts(e["lastLogin"]), ts(e["passwordChanged"]), e["type"]["id"],
                ep["login"], ep["email"], ep["firstName"], ep["lastName"], ep["displayName"],
                ep["department"], ep["managerId"], ep["manager"])
        if got != want:
            mismatches.append((u.id, got, want))
    check("users: every field compared equals the export", not mismatches, str(mismatches[:2]))

    active, _ = await all_pages(client.list_users, filter='status eq "ACTIVE"', limit=200)
    check("users: filter status eq ACTIVE",
          sorted(u.id for u in active) == sorted(i for i, u in exp_users.items() if u["status"] == "ACTIVE"))

    groups, gpages = await all_pages(client.list_groups, limit=7)
    check("groups: several pages", gpages >= 3, f"pages={gpages}")
    check("groups: exactly the exported groups", sorted(g.id for g in groups) == sorted(exp_groups))
    check("groups: type and name equal the export",
          all(enum_value(g.type) == exp_groups[g.id]["type"]
              and g.profile.actual_instance.name == exp_groups[g.id]["profile"]["name"] for g in groups))
    types = {enum_value(g.type) for g in groups}
    check("groups: all three types present", types == {"OKTA_GROUP", "APP_GROUP", "BUILT_IN"}, str(types))

    bad, multi_page = [], 0
    for g in groups:
        members, mpages = await all_pages(client.list_group_users, group_id=g.id, limit=100)
        multi_page += mpages > 1
        if sorted(m.id for m in members) != sorted(export["memberships"][g.id]):
            bad.append(g.id)
    check("members: every group's members equal the export", not bad, str(bad[:3]))
    check("members: some groups span several pages", multi_page > 0)
    apps, apages = await all_pages(client.list_applications, limit=3)
    check("apps: every app (polymorphic sign-on modes) through pagination",
          apages >= 2 and [a.actual_instance.id if hasattr(a, "actual_instance") else a.id for a in apps]
          == [a["id"] for a in export["apps"]], f"pages={apages}")

    missing = await client.get_user("00unotthere000000000")
    err = missing[-1]
    check("errors: unknown user is Okta's 404 E0000007 for the SDK",
          getattr(err, "error_code", None) == "E0000007" and getattr(err, "status", 404) == 404, repr(err))

    everyone = next(g for g in groups if enum_value(g.type) == "BUILT_IN")
    check("members: Everyone holds every user", sorted(export["memberships"][everyone.id]) == sorted(exp_users))


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OKTA_SIM_BIN")
    if not binary:
        raise SystemExit("usage: sdk_fidelity.py PATH_TO_okta-sim (or set OKTA_SIM_BIN)")
    token = "00" + secrets.token_urlsafe(30)
    proc, url = start_sim(binary, token)
    try:
        asyncio.run(run(url, token))
    except Exception as e:  # report, then fail
        check("run without errors", False, repr(e))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(f"sdk_fidelity: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
