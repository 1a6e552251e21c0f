"""Stage 6: the secret-ballot canary (V8) over a real chaos run.

Two fresh organizations whose members never voted before: in one, a secret ballot with
a known plan of choices; in the other, a named ballot with the same plan (the control).
Afterwards every table of every service database, every service log (all the run's
lines, crashes included) and every event captured on the tap queue during the whole run
are searched for a voter next to a choice, with the scanner of the integration canary
(tests/integration/test_voting_rules.py).  The secret voters must never be found; the
named ones must be (or the scanner proves nothing).
"""
import json

import sqlalchemy as sa

from bench.common import VOTERS, Http, expect, login, make_org, when
from chaos.duplicates import drain_tap
from shared.config import database_url
from tests.integration.test_voting_rules import _links_in_text, scan_events, scan_tables
from tests.support.processes import SERVICES

PLAN = ["yes", "no", "yes", "abstain", "yes", "no", "yes"]


def ballot(port, org, method):
    sec = org.tokens["secretary"]
    c = Http(port, sec)
    m = expect(c.post("/api/v1/meetings", {"kind": "emergency", "emergency_reason": "突发险情", "title": f"金丝雀 {method}",
                                           "scheduled_at": when()}), 201)["meeting_id"]
    t = expect(c.post(f"/api/v1/meetings/{m}/topics", {"title": "金丝雀议题", "category": "work_plan"}), 201)["topic_id"]
    expect(c.post(f"/api/v1/meetings/{m}/notice"), 200)
    expect(c.post(f"/api/v1/meetings/{m}/open", {"present": [org.pids[u] for u in VOTERS]}), 200)
    b = expect(c.post("/api/v1/ballots", {"meeting_id": m, "topic_id": t, "method": method}), 201)["ballot_id"]
    for user, choice in zip(VOTERS, PLAN):
        expect(c.post(f"/api/v1/ballots/{b}/votes", {"choice": choice}, token=org.tokens[user]), 200, 201)
    decision = expect(c.post(f"/api/v1/ballots/{b}/close"), 200)
    c.close()
    return decision


def scan(env, voters):
    found, places = [], 0
    for name in SERVICES:
        engine = env.engine(name)
        places += len(sa.inspect(engine).get_table_names())
        found += [("table", name, hit) for hit in scan_tables(engine, voters)]
    for name, text in env.logs().items():
        places += 1
        found += [("log", name, hit) for line in text.splitlines() for hit in _links_in_text(line, voters)]
    events = []
    for e in env.captured:
        try:
            events.append(json.loads(e["body"]))
        except (ValueError, UnicodeDecodeError):
            pass
    places += len(events)
    found += [("event", "", hit) for hit in scan_events(events, voters)]
    return found, places


def run(env, org, log=print):
    admin = login(env.port, "admin")[0]
    notifications_db = database_url("notifications", env.suite.env)
    secret_org, named_org = (make_org(env.port, admin, 90, notifications_db=notifications_db),
                             make_org(env.port, admin, 91, notifications_db=notifications_db))
    decision = ballot(env.port, secret_org, "secret")
    control = ballot(env.port, named_org, "named")
    env.wait_quiet()
    drain_tap(env)
    secret_voters = {secret_org.pids[u] for u in VOTERS}
    named_voters = {named_org.pids[u] for u in VOTERS}
    secret_found, places = scan(env, secret_voters)
    named_found, _ = scan(env, named_voters)
    log(f"  secret ballot {decision['decision_id']} ({decision.get('yes')} yes, {decision.get('no')} no): "
        f"{len(secret_found)} voter-choice links in {places} places; named control: {len(named_found)} links")
    for hit in secret_found[:5]:
        log(f"    FOUND {str(hit)[:300]}")
    return {"votes": len(PLAN), "places": places, "secret_links": len(secret_found),
            "named_links": len(named_found), "decision_ids": [decision["decision_id"], control["decision_id"]]}
