"""Backup and restore as docs/operations.md tells it ("Backup and restore"), for real:

the whole suite runs as processes on PostgreSQL, one database per service; while decisions are
being taken through the gateway, every database is dumped with ``pg_dump -Fc`` (one after the
other, not one snapshot); the suite stops; each dump is restored into a new, empty database
with ``pg_restore --single-transaction --exit-on-error``; the suite starts on the restored
databases (the broker outlived the lost database server); voting's ``result_decided``
events since the first dump began are marked unpublished, as the guide says, so the relay sends
them again. Then: the archive's chain verifies (A2), the archive holds exactly one decision
record per decision the restored voting database holds (A1), accountability links each of them
to every member (C1), and nothing counted twice (the consumers' inboxes drop what they had).
"""
import datetime as dt
import shutil
import subprocess
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from shared.db import make_engine
from tests.e2e.conftest import login
from tests.support.events import wait_for
from tests.support.processes import SERVICES, Suite, suite_env

pytestmark = pytest.mark.integration
VOTERS = ["secretary", "deputy", "member1", "member2", "member3", "member4", "member5"]
BEFORE, DURING = 3, 4          # decisions before the dumps start, and while they are taken
DUMP_ORDER = ("archive", "accountability", "notifications", "voting", "meetings", "gateway")


def tool(name):
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} (PostgreSQL's client) is needed: apt-get install postgresql-client")
    return found


def plain(url):
    """The URL as libpq reads it (no SQLAlchemy driver name)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def scalar(url, sql):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def take_decision(clients, pid, n):
    """An emergency meeting decides one work-plan topic by named vote (5 yes of N = 9)."""
    sec = clients["secretary"]
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)).isoformat()
    r = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情",
                                           "title": f"党组紧急会议 {n}", "scheduled_at": when})
    assert r.status_code == 201, r.text
    meeting_id = r.json()["meeting_id"]
    r = sec.post(f"/api/v1/meetings/{meeting_id}/topics", json={"title": f"应急处置方案 {n}", "category": "work_plan"})
    assert r.status_code == 201, r.text
    topic_id = r.json()["topic_id"]
    assert sec.post(f"/api/v1/meetings/{meeting_id}/notice").status_code == 200
    r = sec.post(f"/api/v1/meetings/{meeting_id}/open", json={"present": [pid[u] for u in VOTERS]})
    assert r.status_code == 200, r.text
    r = sec.post("/api/v1/ballots", json={"meeting_id": meeting_id, "topic_id": topic_id, "method": "named"})
    assert r.status_code == 201, r.text
    ballot_id = r.json()["ballot_id"]
    for user in VOTERS:
        r = clients[user].post(f"/api/v1/ballots/{ballot_id}/votes",
                               json={"choice": "no" if user == "member5" else "yes"})
        assert r.status_code in (200, 201), (user, r.text)
    r = sec.post(f"/api/v1/ballots/{ballot_id}/close")
    assert r.status_code == 200, r.text
    assert sec.post(f"/api/v1/meetings/{meeting_id}/close").status_code == 200
    return r.json()["decision_id"]


def test_every_database_dumped_during_load_restores_into_a_suite_whose_record_is_whole(
        broker, postgres, tmp_path):
    dump_tool, restore_tool = tool("pg_dump"), tool("pg_restore")
    first = {s: postgres.create_database("bk") for s in SERVICES}
    vhosts = [f"backup-{uuid.uuid4().hex[:10]}"]
    env = suite_env(broker.create_vhost(vhosts[0]), tmp_path,
                    **{f"{s.upper()}_DATABASE_URL": url for s, url in first.items()})
    suite = Suite(env, tmp_path)
    suite.start_all()
    try:
        suite.wait_healthy(timeout=120)
        clients, pid = {}, {}
        for user in VOTERS:
            clients[user], info = login(suite.base, user)
            pid[user] = info["actor"]["person_id"]
        org_id = login(suite.base, "secretary")[1]["actor"]["org_id"]
        taken = [take_decision(clients, pid, n) for n in range(BEFORE)]

        # the load goes on while every database is dumped, one after the other
        errors = []

        def load():
            try:
                taken.extend(take_decision(clients, pid, BEFORE + n) for n in range(DURING))
            except Exception as exc:        # reported below; the dumps go on
                errors.append(exc)
        worker = threading.Thread(target=load)
        dumps_began = dt.datetime.now(dt.timezone.utc)
        worker.start()
        dumps = {}
        # consumers before producers, as docs/operations.md orders them: a consumer's dump is then
        # never ahead of its producer's, and replaying the producer's outbox fills the gap
        for service in DUMP_ORDER:
            url = first[service]
            dumps[service] = tmp_path / f"suite_{service}.dump"
            subprocess.run([dump_tool, "-Fc", "--no-owner", "-f", str(dumps[service]), plain(url)],
                           check=True, capture_output=True, timeout=300)
            time.sleep(0.5)
        worker.join(timeout=600)
        assert not errors, errors
        assert len(taken) == BEFORE + DURING
    finally:
        suite.stop_all()

    # a new server: empty databases, each filled from its dump, all or nothing
    restored = {s: postgres.create_database("rs") for s in SERVICES}
    for service, url in restored.items():
        subprocess.run([restore_tool, "--no-owner", "--single-transaction", "--exit-on-error",
                        "-d", plain(url), str(dumps[service])], check=True, capture_output=True, timeout=300)
    # the guide's replay: voting's result_decided since the first dump began, sent again
    replay = make_engine(restored["voting"])
    try:
        with replay.begin() as conn:
            conn.execute(sa.text("UPDATE outbox SET published_at = NULL "
                                 "WHERE event_type = 'result_decided' AND created_at > :t"),
                         {"t": dumps_began - dt.timedelta(minutes=1)})
    finally:
        replay.dispose()

    # the broker outlived the database server: the restored suite finds its queues as they were
    env = {**env, **{f"{s.upper()}_DATABASE_URL": url for s, url in restored.items()}}
    suite = Suite(env, tmp_path)
    suite.start_all()
    try:
        suite.wait_healthy(timeout=120)
        sec, _ = login(suite.base, "secretary")
        decisions = scalar(restored["voting"], f"SELECT count(*) FROM decisions WHERE org_id = '{org_id}'")
        # what the dumps held: at least the decisions taken before they began, at most all of them
        assert BEFORE <= decisions <= BEFORE + DURING

        seen = {}

        def archived():
            """one decision record per decision of the restored voting database"""
            r = sec.get("/api/v1/records", params={"kind": "decision", "limit": 200})
            seen["archive"] = r.json().get("total") if r.status_code == 200 else r.text
            return r.status_code == 200 and r.json()["total"] == decisions and r.json()
        try:
            page = wait_for(archived, timeout=90, interval=0.5)
        except AssertionError:
            raise AssertionError(f"archive holds {seen.get('archive')} decision records, voting {decisions}") from None
        assert len({rec["subject_id"] for rec in page["items"]}) == decisions      # none twice

        def linked():
            """accountability links every member of N = 9 to each decision, once"""
            return scalar(restored["accountability"],
                          "SELECT count(*) FROM responsibility_links") == 9 * decisions
        wait_for(linked, timeout=90, interval=0.5)
        assert scalar(restored["accountability"],
                      "SELECT count(DISTINCT decision_id) FROM responsibility_links") == decisions
        verify = sec.get("/api/v1/records/verify").json()
        assert verify["ok"] is True, verify
        # the restored suite works on: one more decision reaches the archive too
        clients, pid = {}, {}
        for user in VOTERS:
            clients[user], info = login(suite.base, user)
            pid[user] = info["actor"]["person_id"]
        take_decision(clients, pid, 99)
        wait_for(lambda: sec.get("/api/v1/records", params={"kind": "decision", "limit": 200})
                   .json()["total"] == decisions + 1, timeout=90, interval=0.5)
        assert sec.get("/api/v1/records/verify").json()["ok"] is True
    finally:
        suite.stop_all()
        for vhost in vhosts:
            broker.delete_vhost(vhost)
            if vhost in broker.vhosts:
                broker.vhosts.remove(vhost)
        for url in [*first.values(), *restored.values()]:
            postgres.drop_database(url)
