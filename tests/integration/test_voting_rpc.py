"""Voting over real RabbitMQ RPC with the real meetings service, on SQLite and PostgreSQL.

Meetings keeps its own embedded database; voting runs on the parametrized backend.
"""
import datetime as dt
import json
import logging
import time
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from services.meetings import models as meeting_models
from services.meetings.service import MeetingsService
from services.voting import ballot_key, domain, schemas
from services.voting.service import VotingService
from shared import clock
from shared.db import normalize_url
from shared.envelope import parse_envelope
from shared.actor import Actor
from shared.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from shared.nameko_ext import rpc
from shared.topology import event_exchange
from tests.support.asyncapi import validate_event
from tests.support.meetings import control_clock
from tests.support.roster import actor, build_org

pytestmark = pytest.mark.integration

CHOICES = {"yes", "no", "abstain"}


# ---------------------------------------------------------------- helpers

class EventTap:
    """An exclusive queue bound to every routing key of ``voting.events``, declared before
    anything is triggered, so every event the service publishes is seen."""

    def __init__(self, amqp_uri):
        self.conn = Connection(amqp_uri)
        self.conn.connect()
        self.channel = self.conn.channel()
        exchange = event_exchange("voting")
        exchange(self.channel).declare()
        self.queue = Queue(f"tap-{uuid.uuid4().hex}", exchange=exchange, routing_key="#",
                           exclusive=True, auto_delete=True)(self.channel)
        self.queue.declare()
        self.events = []

    def wait_for(self, event_type, count=1, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e["event_type"] == event_type]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(found)} {event_type} event(s) after {timeout}s; "
                                     f"saw {[e['event_type'] for e in self.events]}")
            message = self.queue.get(no_ack=True)
            if message is None:
                eventlet.sleep(0.05)
                continue
            assert message.delivery_info["routing_key"] == json.loads(message.body)["event_type"]
            self.events.append(parse_envelope(message.body))

    def close(self):
        self.conn.release()


class MeetingsWithPresence(MeetingsService):
    """The real meetings service plus ``presence_now`` as voting's contract states it
    ({meeting_id, meeting_status, presence}), read from the meeting's own tables, for as long
    as the meetings service does not provide it itself."""

    if not hasattr(MeetingsService, "presence_now"):
        @rpc
        def presence_now(self, actor, meeting_id, person_id):
            actor = Actor.from_dict(actor)
            with self.db.read() as s:
                meeting = s.get(meeting_models.Meeting, meeting_id)
                if meeting is None or (meeting.org_id != actor.org_id and "system" not in actor.roles):
                    raise NotFound("meeting_id: no such meeting", field="meeting_id")
                row = s.get(meeting_models.Attendance, (meeting_id, person_id))
                return {"meeting_id": meeting.id, "meeting_status": meeting.status,
                        "presence": row.status if row is not None else None}

    @rpc
    def attendance_snapshot(self, actor, meeting_id, topic_id):
        """The real snapshot, with the item's own candidate (V4) when meetings does not give it yet."""
        snapshot = MeetingsService.attendance_snapshot(self, actor, meeting_id, topic_id)
        if "candidate_person_id" not in snapshot["topic"]:
            with self.db.read() as s:
                snapshot["topic"]["candidate_person_id"] = s.get(meeting_models.Topic, topic_id).candidate_person_id
        return snapshot


@pytest.fixture
def suite(container_factory, rpc_client, database_url, amqp_uri):
    meetings = container_factory(MeetingsWithPresence)       # its own SQLite file
    voting = container_factory(VotingService, database_url=database_url)
    meetings.start()
    voting.start()
    tap = EventTap(amqp_uri)
    engine = sa.create_engine(normalize_url(database_url), poolclass=sa.pool.NullPool)
    yield rpc_client(), tap, engine
    tap.close()
    engine.dispose()


@pytest.fixture(autouse=True)
def controlled_clock(monkeypatch, tmp_path):
    """M5: a noticed meeting opens at its time; tests move the suite's clock there."""
    control_clock(monkeypatch, tmp_path)


def opened_meeting(rpc, n, present, leave=(), category="work_plan"):
    """An org of n group members and an opened emergency meeting with one topic.

    ``present`` and ``leave`` are indexes into the org's person ids.
    """
    org_id, ids = build_org(rpc.meetings, n)
    sec = actor(ids[0], org_id, "secretary")
    # M4/M6: personnel and major matters only at a meeting noticed 48 h ahead, held at its time (M5)
    noticed = category in ("personnel", "major_decision")
    when = clock.now() + dt.timedelta(hours=48 if noticed else 0, minutes=5)
    body = {"org_id": org_id, "kind": "regular", "title": "党组会议", "scheduled_at": when.isoformat()} if noticed \
        else {"org_id": org_id, "kind": "emergency", "emergency_reason": "突发险情", "title": "紧急会议",
              "scheduled_at": when.isoformat()}
    meeting = rpc.meetings.schedule_meeting(sec, body)
    mid = meeting["meeting_id"]
    topic = rpc.meetings.add_topic(sec, mid, {"title": "防汛预案", "category": category})
    tid = topic["topic_id"]
    if noticed:
        rpc.meetings.notice_meeting(sec, mid)
        clock.advance(when - clock.now())
    rpc.meetings.open_meeting(sec, mid, {
        "present": [ids[i] for i in present],
        "leave": [{"person_id": ids[i], "opinions": {tid: "同意"}} for i in leave]})
    return org_id, ids, sec, mid, tid


def member(ids, org_id, i):
    return actor(ids[i], org_id, "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member")


def count_rows(engine, table, ballot_id):
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE ballot_id = :b"), {"b": ballot_id}).scalar()


# ---------------------------------------------------------------- the thin slice

def test_named_ballot_passes_by_v3_and_publishes_result_decided(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tid = opened_meeting(rpc, 9, present=range(7), leave=[8])

    ballot = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "named"})
    assert ballot["status"] == "open" and ballot["n"] == 9 and ballot["present"] == 7
    assert ballot["eligible"] == sorted(ids[:7]) and ballot["votes_cast"] == 0
    assert ballot["agenda_item_id"] == tid and ballot["decision_id"] is None
    bid = ballot["ballot_id"]

    choices = ["yes"] * 5 + ["no", "abstain"]
    for i, choice in enumerate(choices):
        data = {"choice": choice}
        if choice == "no":
            data["reserved_opinion"] = "保留意见：资金来源未落实"
        assert rpc.voting.get_ballot(member(ids, org_id, i), bid)["you_voted"] is False
        cast = rpc.voting.cast_vote(member(ids, org_id, i), bid, data)
        assert cast == {"ballot_id": bid, "votes_cast": i + 1}
        # V1: the roll tells the voter, from any device, that their vote is in; only them
        assert rpc.voting.get_ballot(member(ids, org_id, i), bid)["you_voted"] is True
        assert rpc.voting.get_ballot(sec if i else member(ids, org_id, 1), bid)["you_voted"] is (i > 0)
        # V2: a named ballot's roll (who voted, never how) for whoever records the votes
        assert rpc.voting.get_ballot(sec, bid)["voted"] == sorted(ids[:i + 1])

    decision = rpc.voting.close_ballot(sec, bid)
    assert decision["outcome"] == "passed"
    assert (decision["yes"], decision["no"], decision["abstain"]) == (5, 1, 1)
    assert decision["n"] == 9 and decision["present"] == 7 and decision["threshold"] == 5
    assert decision["explanation"].startswith("V3: 5 yes of N=9") and "passed" in decision["explanation"]

    opened = tap.wait_for("ballot_opened")[0]
    assert opened["org_id"] == org_id and opened["producer"] == "voting"
    schemas.BallotOpenedData().load(opened["data"])
    assert opened["data"]["eligible"] == sorted(ids[:7]) and opened["data"]["method"] == "named"

    closed = tap.wait_for("ballot_closed")[0]["data"]
    assert closed == {"ballot_id": bid, "decision_id": decision["decision_id"], "outcome": "passed"}

    envelope = tap.wait_for("result_decided")[0]
    assert envelope["org_id"] == org_id and envelope["schema_version"] == 1
    data = envelope["data"]
    schemas.ResultDecidedData().load(data)       # the contract, exactly
    assert set(data) == set(schemas.ResultDecidedData().fields)
    assert {k: data[k] for k in ("decision_id", "ballot_id", "meeting_id", "agenda_item_id", "title", "category",
                                 "method", "emergency", "n", "present", "yes", "no", "abstain", "threshold",
                                 "outcome", "superseded_decision_id")} == {
        "decision_id": decision["decision_id"], "ballot_id": bid, "meeting_id": mid, "agenda_item_id": tid,
        "title": "防汛预案", "category": "work_plan", "method": "named", "emergency": True, "n": 9,
        "present": 7, "yes": 5, "no": 1, "abstain": 1, "threshold": 5, "outcome": "passed",
        "superseded_decision_id": None}
    assert data["decided_at"] == decision["decided_at"]
    members = {m["person_id"]: m for m in data["members"]}
    assert [m["person_id"] for m in data["members"]] == sorted(ids)
    for i, choice in enumerate(choices):
        m = members[ids[i]]
        assert (m["presence"], m["voted"], m["stance"], m["written_opinion"]) == ("present", True, choice, None)
    assert members[ids[5]]["reserved_opinion"] == "保留意见：资金来源未落实"
    assert members[ids[8]] == {"person_id": ids[8], "presence": "leave", "voted": False, "stance": None,
                               "reserved_opinion": None, "written_opinion": "同意", "recorded_by": None,
                               "recused": False}
    assert members[ids[7]] == {"person_id": ids[7], "presence": "absent", "voted": False, "stance": None,
                               "reserved_opinion": None, "written_opinion": None, "recorded_by": None,
                               "recused": False}
    assert all(m["recorded_by"] is None for m in data["members"]) and data["recorded_by"] == []   # V2: all cast
    assert (data["counts_only"], data["serious_disagreement"], data["candidate_person_id"]) == (False, False, None)

    # every event published matches the integrators' catalogue (docs/asyncapi.yaml)
    for event in tap.events:
        validate_event("voting.events", event["event_type"], event)

    # the views agree with the event; the view adds what is derived or may change later (V7, V8)
    assert rpc.voting.get_decision(member(ids, org_id, 4), decision["decision_id"]) == decision
    assert (decision["status"], decision["superseded_by"], decision["warnings"]) == ("in_force", None, [])
    assert {k: v for k, v in decision.items()
            if k not in ("explanation", "status", "superseded_by", "warnings")} == data
    after = rpc.voting.get_ballot(member(ids, org_id, 3), bid)
    assert after["status"] == "closed" and after["decision_id"] == decision["decision_id"]
    assert after["votes_cast"] == 7


def test_v3_four_yes_of_nine_fail_even_with_no_opposition(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tid = opened_meeting(rpc, 9, present=range(9))
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "show_of_hands"})["ballot_id"]
    for i in range(9):
        rpc.voting.cast_vote(member(ids, org_id, i), bid, {"choice": "yes" if i < 4 else "abstain"})
    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["outcome"], decision["yes"], decision["no"], decision["abstain"]) == ("failed", 4, 0, 5)
    assert tap.wait_for("result_decided")[0]["data"]["outcome"] == "failed"


def test_v1_v9_m1_v4_refusals_change_nothing(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tid = opened_meeting(rpc, 9, present=range(7), leave=[8])
    other_org, other_ids = build_org(rpc.meetings, 3)

    # M1: only the chair opens a ballot
    with pytest.raises(RuleViolation) as err:
        rpc.voting.open_ballot(member(ids, org_id, 2), {"meeting_id": mid, "topic_id": tid})
    assert err.value.rule == "M1"
    # bad input names the field
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "acclamation"})
    assert err.value.field == "method"
    # another organization's meeting is not found
    with pytest.raises(NotFound):
        rpc.voting.open_ballot(actor(other_ids[0], other_org, "secretary"), {"meeting_id": mid, "topic_id": tid})
    # M4: a topic that is not on this meeting's agenda
    with pytest.raises(RuleViolation) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": str(uuid.uuid4())})
    assert err.value.rule == "M4"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ballots")).scalar() == 0

    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    assert rpc.voting.get_ballot(sec, bid)["method"] == "named"   # the default
    # V4: one open ballot per agenda item
    with pytest.raises(Conflict) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "secret"})
    assert err.value.rule == "V4"

    rpc.voting.cast_vote(member(ids, org_id, 1), bid, {"choice": "yes"})
    refused = [
        (member(ids, org_id, 8), RuleViolation),                    # on leave
        (member(ids, org_id, 7), RuleViolation),                    # absent
        (actor(str(uuid.uuid4()), org_id, "member"), RuleViolation),  # not a group member of the meeting
        (actor(str(uuid.uuid4()), org_id, "observer"), RuleViolation),  # observer
        (member(ids, org_id, 1), Conflict),                         # second vote
    ]
    for who, error in refused:
        with pytest.raises(error) as err:
            rpc.voting.cast_vote(who, bid, {"choice": "no", "reserved_opinion": "x"})
        assert err.value.rule == "V1" and err.value.field == "actor", who
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.cast_vote(member(ids, org_id, 2), bid, {"choice": "maybe"})
    assert err.value.field == "choice"
    with pytest.raises(NotFound):   # another organization's person cannot even see the ballot
        rpc.voting.cast_vote(actor(other_ids[1], other_org, "member"), bid, {"choice": "yes"})
    with pytest.raises(NotFound):
        rpc.voting.get_ballot(actor(other_ids[1], other_org, "member"), bid)
    with pytest.raises(NotFound):
        rpc.voting.get_ballot(sec, str(uuid.uuid4()))
    assert rpc.voting.get_ballot(sec, bid)["votes_cast"] == 1
    assert count_rows(engine, "participations", bid) == 1
    assert count_rows(engine, "open_votes", bid) == 1

    # only the chair closes; closed is final
    with pytest.raises(RuleViolation) as err:
        rpc.voting.close_ballot(member(ids, org_id, 1), bid)
    assert err.value.rule == "M1"
    decision = rpc.voting.close_ballot(sec, bid)
    assert decision["outcome"] == "failed" and decision["yes"] == 1
    with pytest.raises(Conflict) as err:
        rpc.voting.cast_vote(member(ids, org_id, 2), bid, {"choice": "yes"})
    assert err.value.rule == "V9"
    with pytest.raises(Conflict) as err:
        rpc.voting.close_ballot(sec, bid)
    assert err.value.rule == "V9"
    assert count_rows(engine, "participations", bid) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM decisions")).scalar() == 1
    with pytest.raises(NotFound):
        rpc.voting.get_decision(actor(other_ids[1], other_org, "member"), decision["decision_id"])
    # a cross-organization reader (SPEC §1) may read it
    assert rpc.voting.get_decision(actor("od", None, "org_department"), decision["decision_id"]) == decision
    # the item is decided (failed): no new ballot on it but an approved reconsideration (V5, V7)
    with pytest.raises(RuleViolation) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})
    assert (err.value.rule, err.value.field) == ("V7", "topic_id")


def test_v1_twenty_concurrent_voters_each_counted_exactly_once(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tid = opened_meeting(rpc, 20, present=range(20))
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    plan = {ids[i]: ("yes" if i < 12 else "no" if i < 17 else "abstain") for i in range(20)}

    # every voter sends the same vote twice at once: 40 concurrent calls
    calls = []
    for i in list(range(20)) * 2:
        calls.append((ids[i], rpc.voting.cast_vote.call_async(member(ids, org_id, i), bid, {"choice": plan[ids[i]]})))
    accepted, refused = [], []
    for pid, reply in calls:
        try:
            reply.result()
            accepted.append(pid)
        except Conflict as exc:
            assert exc.rule == "V1"
            refused.append(pid)
    assert sorted(accepted) == sorted(ids) and sorted(refused) == sorted(ids)

    assert rpc.voting.get_ballot(sec, bid)["votes_cast"] == 20
    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["yes"], decision["no"], decision["abstain"]) == (12, 5, 3)
    assert decision["outcome"] == "passed" and decision["threshold"] == 11
    assert {m["person_id"]: m["stance"] for m in decision["members"]} == plan
    assert count_rows(engine, "participations", bid) == 20 and count_rows(engine, "open_votes", bid) == 20


def test_v8_secret_ballot_links_no_voter_to_a_choice(suite, caplog, tmp_path):
    rpc, tap, engine = suite
    caplog.set_level(logging.DEBUG)
    org_id, ids, sec, mid, tid = opened_meeting(rpc, 9, present=range(8), category="personnel")
    ballot = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "secret",
                                          "candidates": ["candidate-1"]})   # V4: one candidate
    bid = ballot["ballot_id"]
    # at a meeting noticed 48 h ahead (M4/M6), below V5's serious disagreement (2 of 8 < 1/3)
    plan = ["yes", "no", "yes", "abstain", "yes", "yes", "yes", "yes"]
    caplog.clear()
    for i, choice in enumerate(plan):
        data = {"choice": choice}
        if i == 1:
            data["reserved_opinion"] = "保留：人选资历不足"
        assert rpc.voting.cast_vote(member(ids, org_id, i), bid, data)["votes_cast"] == i + 1
    # no log line written while the secret votes were cast (service and client, DEBUG) names a voter
    lines = [r.getMessage() for r in caplog.records]
    assert lines, "logging was captured"
    assert not [line for line in lines if any(pid in line for pid in ids)]
    # the ballot's reader learns whether they voted, never who else did or in what order (V8)
    assert rpc.voting.get_ballot(sec, bid)["voted"] is None
    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["yes"], decision["no"], decision["abstain"], decision["outcome"]) == (6, 1, 1, "passed")

    data = tap.wait_for("result_decided")[0]["data"]
    assert data["method"] == "secret"
    assert all(m["stance"] is None for m in data["members"])
    assert all(m["stance"] is None for m in decision["members"])
    members = {m["person_id"]: m for m in data["members"]}
    assert [members[ids[i]]["voted"] for i in range(9)] == [True] * 8 + [False]   # participation is recorded
    assert members[ids[1]]["reserved_opinion"] == "保留：人选资历不足"                 # V6, secret too

    # no row of any table holds both a voter's id and a choice
    voters = set(ids[:8])
    inspector = sa.inspect(engine)
    tables = inspector.get_table_names()
    assert {"participations", "ballot_box", "open_votes", "electorate", "decisions"} <= set(tables)
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
                cells = [str(v) for v in row.values() if v is not None]
                has_choice = any(c in CHOICES for c in cells)
                has_voter = any(pid in c for c in cells for pid in voters)
                assert not (has_choice and has_voter), (table, dict(row))
        assert conn.execute(sa.text("SELECT count(*) FROM open_votes WHERE ballot_id = :b"), {"b": bid}).scalar() == 0
        box = conn.execute(sa.text("SELECT id, choice, sealed FROM ballot_box WHERE ballot_id = :b"),
                           {"b": bid}).all()
        assert all(c is None for _, c, _ in box)               # V8: no choice in clear
        key = ballot_key.key_from_file(tmp_path / "data" / "voting-ballot.key")   # the service's key file
        assert key.count(s for _, _, s in box) == domain.tally(plan)   # V9: the tally's source
        box_columns = {c["name"] for c in inspector.get_columns("ballot_box")}
        assert box_columns == {"id", "ballot_id", "choice", "sealed"}  # no person, no timestamp, no sequence
        assert all(uuid.UUID(i).version == 4 for i, _, _ in box)
        if engine.dialect.name == "postgresql":
            # the closed box was rewritten: no entry shares a writing transaction with a vote
            roll_tx = set(conn.execute(sa.text("SELECT xmin::text FROM participations WHERE ballot_id = :b"),
                                       {"b": bid}).scalars())
            box_tx = set(conn.execute(sa.text("SELECT xmin::text FROM ballot_box WHERE ballot_id = :b"),
                                      {"b": bid}).scalars())
            assert roll_tx and box_tx and not roll_tx & box_tx
        else:
            with pytest.raises(sa.exc.OperationalError):   # WITHOUT ROWID: no insertion sequence
                conn.execute(sa.text("SELECT rowid FROM ballot_box"))
