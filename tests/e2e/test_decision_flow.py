"""One decision flows end to end through every service, each a real process,
driven over HTTP through the gateway (the README's walk-through, automated)."""
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import drain_tap, login
from tests.support.asyncapi import validate_event

pytestmark = pytest.mark.e2e
VOTERS = ["secretary", "deputy", "member1", "member2", "member3", "member4", "member5"]
ROOT = Path(__file__).resolve().parents[2]
FLOW = {}   # what the first test decided, for the tests that follow it in this module


def poll(fn, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r.status_code == 200:
            return r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{r.status_code} {r.text}")
        time.sleep(0.3)


def test_one_decision_flows_from_meeting_to_archive_and_accountability(suite):
    base = suite.base
    clients, actors = {}, {}
    for user in VOTERS + ["member6", "member7", "discipline"]:
        clients[user], info = login(base, user)
        actors[user] = info["actor"]
    sec = clients["secretary"]
    org_id = actors["secretary"]["org_id"]
    pid = {u: a["person_id"] for u, a in actors.items()}

    members = sec.get(f"/api/v1/organizations/{org_id}/members").json()
    assert members["n"] == 9 and members["quorum"] == 6

    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    r = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "党组紧急会议", "scheduled_at": when})
    assert r.status_code == 201, r.text
    meeting_id = r.json()["meeting_id"]
    r = sec.post(f"/api/v1/meetings/{meeting_id}/topics", json={"title": "2027年度工作计划", "category": "work_plan"})
    assert r.status_code == 201, r.text
    topic_id = r.json()["topic_id"]
    assert sec.post(f"/api/v1/meetings/{meeting_id}/notice").status_code == 200

    # M8: 5 of 9 present is below the two-thirds quorum of 6
    r = sec.post(f"/api/v1/meetings/{meeting_id}/open", json={"present": [pid[u] for u in VOTERS[:5]]})
    assert r.status_code == 422 and r.json()["error"]["rule"] == "M8"
    r = sec.post(f"/api/v1/meetings/{meeting_id}/open", json={
        "present": [pid[u] for u in VOTERS],
        "leave": [{"person_id": pid["member6"], "opinions": {topic_id: "同意，建议加强督办"}}]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "opened" and r.json()["quorum"] == 6

    r = sec.post("/api/v1/ballots", json={"meeting_id": meeting_id, "topic_id": topic_id, "method": "named"})
    assert r.status_code == 201, r.text
    ballot_id = r.json()["ballot_id"]

    choices = {"secretary": "yes", "deputy": "yes", "member1": "yes", "member2": "yes", "member3": "yes",
               "member4": "no", "member5": "abstain"}
    for user, choice in choices.items():
        body = {"choice": choice}
        if user == "member4":
            body["reserved_opinion"] = "资金来源需进一步论证"
        r = clients[user].post(f"/api/v1/ballots/{ballot_id}/votes", json=body)
        assert r.status_code in (200, 201), (user, r.text)
    # V1: a member on leave, an absent member and a second vote are refused with the rule named
    for user in ("member6", "member7"):
        r = clients[user].post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "no"})
        assert 400 <= r.status_code < 500 and r.json()["error"]["rule"] == "V1", r.text
    r = clients["member1"].post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "no"})
    assert r.status_code == 409 and r.json()["error"]["rule"] == "V1"
    # bad input names the field
    r = clients["member1"].post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "maybe"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "choice"

    r = sec.post(f"/api/v1/ballots/{ballot_id}/close")
    assert r.status_code == 200, r.text
    decision = r.json()
    # V3: 5 yes > 9/2 → passed; N is the group size, not those present or voting
    assert (decision["n"], decision["present"], decision["yes"], decision["no"], decision["abstain"]) == (9, 7, 5, 1, 1)
    assert decision["outcome"] == "passed"
    decision_id = decision["decision_id"]
    FLOW.update(decision_id=decision_id, pid=pid, clients=clients, meeting_id=meeting_id)

    # the list pages by cursor: the newest first, next_cursor followed to the end, a forged one refused
    listed, query = [], "limit=1"
    while True:
        r = sec.get(f"/api/v1/decisions?{query}")
        assert r.status_code == 200, r.text
        listed += [d["decision_id"] for d in r.json()["items"]]
        if r.json()["next_cursor"] is None:
            break
        query = f"limit=1&cursor={r.json()['next_cursor']}"
    assert listed[0] == decision_id and len(listed) == len(set(listed))
    r = sec.get("/api/v1/decisions?cursor=forged")
    assert r.status_code == 400 and r.json()["error"]["field"] == "cursor"

    # archive (A1/A2): stored once in the hash chain, verifiable
    record = poll(lambda: sec.get(f"/api/v1/decisions/{decision_id}/record"))
    assert record["content"]["decision_id"] == decision_id and record["content"]["yes"] == 5
    assert len(record["hash"]) == 64
    verify = sec.get("/api/v1/records/verify").json()
    assert verify["ok"] is True and verify["records"] >= 1

    # accountability (C1): every member linked with stance; the member on leave bears no responsibility
    links = poll(lambda: sec.get(f"/api/v1/decisions/{decision_id}/responsibility"))
    by_person = {link["person_id"]: link for link in links["links"]}
    assert len(by_person) == 9
    assert by_person[pid["member4"]]["stance"] == "no"
    assert by_person[pid["member4"]]["reserved_opinion"] == "资金来源需进一步论证"
    assert by_person[pid["member6"]]["presence"] == "leave" and by_person[pid["member6"]]["participant"] is False
    assert by_person[pid["member6"]]["written_opinion"] == "同意，建议加强督办"
    assert by_person[pid["member7"]]["presence"] == "absent"
    assert by_person[pid["secretary"]]["stance"] == "yes"

    # a member's lifetime record (C2) shows the decision with their stance
    mine = poll(lambda: clients["member5"].get(f"/api/v1/persons/{pid['member5']}/record"))
    assert [(i["decision_id"], i["stance"]) for i in mine["items"]] == [(decision_id, "abstain")]

    # notifications (N1): the meeting notice reached each member's inbox
    inbox = poll(lambda: clients["member7"].get("/api/v1/notifications"))
    notices = [n for n in inbox["items"] if n["meeting_id"] == meeting_id and n["kind"] == "meeting_notice"]
    assert len(notices) == 1 and inbox["unread"] >= 1


def test_implementation_and_an_accountability_case_on_the_decision(suite):
    """C5: the secretary assigns implementation, the leader reports; C3/C4: discipline opens a case
    on the decision as a major error and sees each member's proposed responsibility."""
    decision_id, pid, clients = FLOW["decision_id"], FLOW["pid"], FLOW["clients"]
    sec, leader, inspector = clients["secretary"], clients["member1"], clients["discipline"]
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = sec.post(f"/api/v1/decisions/{decision_id}/tasks", json={
        "leader_person_id": pid["member1"], "units": ["住房保障处"], "deadline": deadline, "important": True})
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    assert r.json()["status"] == "green"
    # C5: an important item cannot be completed without a written special report
    r = leader.post(f"/api/v1/tasks/{task_id}/progress", json={"text": "已完成", "percent": 100})
    assert r.status_code == 422 and r.json()["error"]["rule"] == "C5", r.text
    r = leader.post(f"/api/v1/tasks/{task_id}/progress", json={"text": "推进中", "percent": 40})
    assert r.status_code == 200 and r.json()["percent"] == 40, r.text
    assert [t["task_id"] for t in sec.get("/api/v1/tasks").json()["items"]] == [task_id]
    # a member cannot open a case (C4: discipline inspectors only)
    r = leader.post("/api/v1/cases", json={"trigger": 2, "decision_id": decision_id, "summary": "x"})
    assert r.status_code == 403 and r.json()["error"]["rule"] == "C4"
    r = inspector.post("/api/v1/cases", json={"trigger": 2, "decision_id": decision_id, "major_error": True,
                                              "summary": "决策失误造成损失"})
    assert r.status_code == 201, r.text
    case = r.json()
    proposals = {p["person_id"]: p["proposal"]["proposal"] for p in case["persons"]}
    assert proposals[pid["secretary"]] == "responsible"            # voted yes
    assert proposals[pid["member4"]] == "may_be_exempted"          # voted no with a reserved opinion
    assert proposals[pid["member6"]] == "not_participant"          # on leave
    r = inspector.post(f"/api/v1/cases/{case['case_id']}/conclusion", json={
        "outcomes": {pid["secretary"]: "criticism_education"}, "note": "批评教育"})
    assert r.status_code == 200 and r.json()["status"] == "concluded", r.text
    assert inspector.get("/api/v1/alerts").status_code == 200


def test_search_finds_the_meeting_topic_and_decision_by_title(suite):
    """Issue 19: the organization's meetings, topics and decisions whose title contains a text."""
    sec, member = FLOW["clients"]["secretary"], FLOW["clients"]["member2"]
    found = member.get("/api/v1/search", params={"q": "年度工作"}).json()
    assert FLOW["decision_id"] in [d["decision_id"] for d in found["decisions"]]
    assert FLOW["meeting_id"] in [tp["meeting_id"] for tp in found["topics"]]
    assert set(found) == {"q", "org_id", "meetings", "topics", "decisions"}
    found = sec.get("/api/v1/search", params={"q": " 紧急会议 "}).json()
    assert FLOW["meeting_id"] in [m["meeting_id"] for m in found["meetings"]] and found["q"] == "紧急会议"
    # a wildcard is a character like any other: nobody's title holds these
    for q in ("%", "_", "\\", "2027%计划", "年度_作"):
        r = sec.get("/api/v1/search", params={"q": q})
        assert r.status_code == 200, r.text
        assert (r.json()["meetings"], r.json()["topics"], r.json()["decisions"]) == ([], [], []), (q, r.json())
    # bad input names the field; another organization's titles are not searched
    for params in ({}, {"q": ""}, {"q": "x" * 101}, {"q": "a\u202eb"}):
        r = sec.get("/api/v1/search", params=params)
        assert r.status_code == 400 and r.json()["error"]["field"] == "q", (params, r.text)
    r = member.get("/api/v1/search", params={"q": "会议", "org_id": "other-org"})
    assert r.status_code in (403, 404), r.text


def test_archive_export_verifies_offline_and_a_flipped_byte_is_named(suite, tmp_path):
    """A2: the export downloaded through the gateway is verified by the standalone script with the
    archive's public key; one altered byte is reported at its line."""
    sec = FLOW["clients"]["secretary"]
    r = sec.get("/api/v1/records/export")
    assert r.status_code == 200, r.text
    lines = r.content.decode("utf-8").splitlines()
    assert len(lines) >= 2 and '"checkpoint"' in lines[-1]
    key = sec.get("/api/v1/archive/public-key").json()["public_key"]
    export = tmp_path / "export.jsonl"
    export.write_bytes(r.content)
    script = ROOT / "tools" / "verify_export.py"
    ok = subprocess.run([sys.executable, str(script), str(export), "--public-key", key],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (at,) = [i for i, line in enumerate(lines) if '"yes":5' in line]    # the decision's record
    lines[at] = lines[at].replace('"yes":5', '"yes":6')
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, str(script), str(export), "--public-key", key],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and f"line {at + 1}" in bad.stdout + bad.stderr, bad.stdout + bad.stderr


def test_every_event_emitted_matches_the_catalogue(suite):
    """Runs after the flow above: each event any service published validates against
    docs/asyncapi.yaml (a plain AMQP client, no nameko, reads them)."""
    events = drain_tap(suite.amqp_uri)
    seen = {(exchange, key) for exchange, key, _ in events}
    for exchange, key, body in events:
        validate_event(exchange, key, body)
    for expected in [("meetings.events", "meeting_noticed"), ("meetings.events", "meeting_opened"),
                     ("voting.events", "ballot_opened"), ("voting.events", "result_decided"),
                     ("archive.events", "record_archived"), ("accountability.events", "responsibility_linked"),
                     ("notifications.events", "notification_delivered")]:
        assert expected in seen, f"{expected} not seen; saw {sorted(seen)}"
    assert len({body["event_id"] for _, _, body in events}) == len(events)
