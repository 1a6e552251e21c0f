"""One topic walked from a member's suggestion to a concluded case, every service a real process,
driven over HTTP; the archive then holds each fact as a record of its kind, in the order the
facts happened, and the chain verifies (A1, A2); the year's transfer package verifies offline and
one altered byte is named by its line."""
import datetime as dt
import io
import json
import subprocess
import sys
import time
import zipfile

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
VOTERS = ["secretary", "deputy", "member1", "member2", "member3", "member4", "member5"]


def ok(r, *codes):
    assert r.status_code in (codes or (200, 201)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def records_of(sec, want):
    deadline = time.monotonic() + 60
    while True:
        items = sec.get("/api/v1/records", params={"limit": 200}).json()["items"]
        kinds = [i["kind"] for i in items]
        if all(k in kinds for k in want) or time.monotonic() > deadline:
            return items
        time.sleep(0.5)


def archived(sec, kind):
    """Wait until the archive holds a record of ``kind``: facts from different services reach it on
    different queues, so the walk goes on once each fact is filed (the order a user sees)."""
    items = records_of(sec, [kind])
    assert kind in {i["kind"] for i in items}, f"{kind} never archived"


def test_one_topic_from_suggestion_to_concluded_case_is_archived_kind_by_kind_in_order(suite, tmp_path):
    base = suite.base
    clients, pid = {}, {}
    for user in VOTERS + ["member6", "member7", "discipline", "confidential", "office"]:
        clients[user], info = login(base, user)
        pid[user] = info["actor"]["person_id"]
    sec, member, inspector = clients["secretary"], clients["member2"], clients["discipline"]

    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    meeting_id = ok(sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "党组紧急会议",
                                                       "scheduled_at": when}))["meeting_id"]
    # a member suggests; the secretary accepts it onto the meeting (M3)
    topic_id = ok(member.post("/api/v1/topics", json={"title": "机关食堂改造", "category": "work_plan",
                                                      "meeting_id": meeting_id}))["topic_id"]
    archived(sec, "topic_suggestion")
    ok(sec.post(f"/api/v1/topics/{topic_id}/decision", json={"accept": True, "meeting_id": meeting_id}))
    archived(sec, "topic")
    # the leader in charge records the pre-coordination before the notice (M3)
    ok(clients["member1"].post(f"/api/v1/topics/{topic_id}/precoordination", json={
        "leader_person_id": pid["member1"], "with_whom": ["机关事务处"], "outcome": "意见一致"}))
    archived(sec, "topic_preparation")
    ok(sec.post(f"/api/v1/meetings/{meeting_id}/notice"))
    archived(sec, "notice")
    ok(sec.post(f"/api/v1/meetings/{meeting_id}/open", json={"present": [pid[u] for u in VOTERS]}))
    archived(sec, "meeting_opened")
    ballot_id = ok(sec.post("/api/v1/ballots", json={"meeting_id": meeting_id, "topic_id": topic_id,
                                                     "method": "named"}))["ballot_id"]
    for user in VOTERS:
        ok(clients[user].post(f"/api/v1/ballots/{ballot_id}/votes", json={"choice": "yes"}))
    decision_id = ok(sec.post(f"/api/v1/ballots/{ballot_id}/close"))["decision_id"]
    archived(sec, "decision")
    ok(sec.post(f"/api/v1/meetings/{meeting_id}/close"))
    archived(sec, "meeting_closed")
    ok(clients["confidential"].post(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "会议纪要：同意改造。"}))
    archived(sec, "minutes")
    ok(sec.post(f"/api/v1/meetings/{meeting_id}/minutes/approval"))
    archived(sec, "minutes_approval")
    # the office prepares the summary; the secretary's sign-off gives it the year's next number (M10)
    doc = ok(clients["office"].post(f"/api/v1/meetings/{meeting_id}/documents", json={
        "kind": "summary", "title": "关于机关食堂改造的会议纪要", "body": "同意改造。", "scope": [pid["member2"]]}))
    assert doc["document_number"] is None                                 # numbered at sign-off only
    issued = ok(sec.post(f"/api/v1/documents/{doc['document_id']}/sign-off"))
    number_year = int(issued["signed_off_at_local"][:4])
    assert issued["document_number"] == f"〔{number_year}〕{issued['number_seq']}号"
    assert ok(member.get(f"/api/v1/documents/{doc['document_id']}"))["document_number"] == issued["document_number"]
    register = ok(sec.get("/api/v1/documents", params={"year": number_year}))["items"]
    assert [d["document_number"] for d in register][-1] == issued["document_number"]
    assert [d["number_seq"] for d in register] == list(range(1, len(register) + 1))   # no gap
    archived(sec, "document")
    deadline = time.monotonic() + 30              # accountability links the decision first (C1)
    while sec.get(f"/api/v1/decisions/{decision_id}/responsibility").status_code != 200:
        assert time.monotonic() < deadline, "the decision never reached accountability"
        time.sleep(0.3)
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    task_id = ok(sec.post(f"/api/v1/decisions/{decision_id}/tasks", json={
        "leader_person_id": pid["member1"], "units": ["机关事务处"], "deadline": deadline,
        "important": False}))["task_id"]
    archived(sec, "implementation_assignment")
    ok(clients["member1"].post(f"/api/v1/tasks/{task_id}/progress", json={"text": "推进中", "percent": 50}))
    archived(sec, "implementation_progress")
    # C5: the leader postpones with an explanation; the group hears it and the archive keeps it
    later = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    ok(clients["member1"].post(f"/api/v1/tasks/{task_id}/postpone", json={
        "new_deadline": later, "explanation": "设备到货推迟，向党组说明"}))
    archived(sec, "implementation_postponement")
    deadline_at = time.monotonic() + 30
    while not [n for n in member.get("/api/v1/notifications").json()["items"] if n["kind"] == "implementation_postponed"]:
        assert time.monotonic() < deadline_at, "the postponement never reached the group"
        time.sleep(0.3)
    case = ok(inspector.post("/api/v1/cases", json={"trigger": 2, "decision_id": decision_id, "major_error": True,
                                                    "summary": "决策失误造成损失"}))
    archived(sec, "case_opened")
    ok(inspector.post(f"/api/v1/cases/{case['case_id']}/conclusion", json={
        "outcomes": {pid["secretary"]: "criticism_education"}, "note": "批评教育"}))

    # A1: each fact is a record of its kind, in the order it happened (each kind's first record)
    order = ["topic_suggestion", "topic", "topic_preparation", "notice", "meeting_opened", "decision", "meeting_closed", "minutes",
             "minutes_approval", "document", "implementation_assignment", "implementation_progress",
             "implementation_postponement", "case_opened", "accountability_conclusion"]
    items = records_of(sec, order + ["responsibility"])
    first_seq = {}
    for item in items:
        first_seq.setdefault(item["kind"], item["seq"])
    missing = [k for k in order + ["responsibility"] if k not in first_seq]
    assert not missing, f"not archived: {missing} (archived: {sorted(first_seq)})"
    assert sorted(order, key=first_seq.get) == order
    assert first_seq["decision"] < first_seq["responsibility"] < first_seq["case_opened"]
    by_kind = {i["kind"]: i for i in items}
    assert by_kind["decision"]["content"]["decision_id"] == decision_id
    assert by_kind["topic"]["content"]["topic_id"] == topic_id
    assert by_kind["document"]["content"]["document_number"] == issued["document_number"]          # M10
    assert by_kind["implementation_postponement"]["content"]["explanation"] == "设备到货推迟，向党组说明"   # C5
    assert by_kind["case_opened"]["classification"] == "confidential"          # A3
    assert by_kind["minutes"]["retention_label"] == "永久" and by_kind["notice"]["retention"] == "30y"
    verify = ok(sec.get("/api/v1/records/verify"))
    assert verify["ok"] is True and verify["records"] == len(items)

    # the year's transfer package, downloaded, verifies offline; one altered byte is named by line
    year = dt.datetime.now(dt.timezone.utc).year
    r = sec.get("/api/v1/records/transfer-package", params={"year": year})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip", r.text
    folder = tmp_path / "package"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    (package_dir,) = folder.iterdir()
    (jsonl,) = package_dir.glob("*.jsonl")
    key = (package_dir / "public_key.txt").read_text().strip()
    assert key == sec.get("/api/v1/archive/public-key").json()["public_key"]
    run = [sys.executable, str(package_dir / "verify_export.py"), str(jsonl), "--public-key", key]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith(f"ok: {len(items)} records"), done.stdout + done.stderr
    lines = jsonl.read_text(encoding="utf-8").splitlines(keepends=True)
    (at,) = [i for i, line in enumerate(lines) if json.loads(line).get("kind") == "minutes_approval"]
    lines[at] = lines[at].replace('"version":1', '"version":2')
    jsonl.write_text("".join(lines), encoding="utf-8")
    done = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout.startswith(f"line {at + 1}: "), done.stdout + done.stderr
