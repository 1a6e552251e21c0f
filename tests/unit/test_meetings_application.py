"""The meetings handlers (``services.meetings.application``) without a broker: each test builds
the service's own SQLite database (its migrations, ``shared.db.Store``), drives the handlers
as the entrypoints do (an ``Actor``, input loaded by its schema) and checks what the secretary
would see: the meeting's state, its record and the events it queued (outbox).  The voting
service is a callable the test writes; the clock is the suite's controlled clock."""
import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from services.meetings import application, models, schemas
from services.meetings.service import MeetingsService
from shared import clock
from shared.actor import Actor
from shared.db import KeyedWork, SealedKey, Store, migrate
from shared.errors import Forbidden, NotFound, RuleViolation, ServiceUnavailable, ValidationFailed
from shared.validation import load
from tests.support.meetings import control_clock

MIGRATIONS = Path(models.__file__).parent / "migrations"
ADMIN = Actor("admin", None, ("admin",))
START = dt.date(2020, 1, 1)


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'meetings.sqlite3'}", "meetings", models.outbox, models.inbox)
    migrate(store.engine, MIGRATIONS, "alembic_version_meetings")
    yield store
    store.dispose()


@pytest.fixture
def clock_moves(monkeypatch, tmp_path):
    control_clock(monkeypatch, tmp_path)
    return clock.advance


class Voting:
    """What the test says the voting service answers to ``open_ballots`` (V1)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    def __call__(self, actor, meeting_id):
        self.asked.append((actor, meeting_id))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def handlers(store, voting=None):
    return application.Meetings(store) if voting is None else application.Meetings(store, open_ballots=voting)


def org_with_group(app, n=9):
    """An organization with n group members: p0 secretary, p1 deputy, the rest members."""
    org_id = app.create_organization(ADMIN, load(schemas.OrganizationIn(), {"name": "测试局党组"}))["org_id"]
    ids, terms = [], []
    for i in range(n):
        pid = app.register_person(ADMIN, load(schemas.PersonIn(), {"name": f"成员{i}"}))["person_id"]
        role = "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member"
        term = app.appoint(ADMIN, load(schemas.AppointmentIn(), {
            "org_id": org_id, "person_id": pid, "role": role, "start_date": START.isoformat()}))
        ids.append(pid)
        terms.append(term["appointment_id"])
    return org_id, ids, terms


def member(ids, org_id, i):
    role = "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member"
    return Actor(ids[i], org_id, (role,))


def schedule(app, secretary, org_id, kind="regular", at=None, **extra):
    at = at or clock.now() + dt.timedelta(days=3)
    data = {"org_id": org_id, "kind": kind, "title": "党组会议", "scheduled_at": at.isoformat(), **extra}
    return app.schedule_meeting(secretary, load(schemas.MeetingIn(), data))


def add_topic(app, secretary, meeting_id, title="年度工作计划", category="work_plan"):
    return app.add_topic(secretary, meeting_id, load(schemas.TopicIn(), {"title": title, "category": category}))


def events(store, event_type):
    with store.read() as s:
        rows = s.execute(sa.select(models.outbox.c.body).where(models.outbox.c.event_type == event_type)
                         .order_by(models.outbox.c.created_at)).scalars().all()
    return [json.loads(body)["data"] for body in rows]


def test_m1_the_secretary_schedules_and_chairs_a_member_may_not(store):
    app = handlers(store)
    org_id, ids, _ = org_with_group(app, 5)
    secretary = member(ids, org_id, 0)
    with pytest.raises(Forbidden) as err:          # M1: only the secretary convenes
        schedule(app, member(ids, org_id, 2), org_id)
    assert err.value.rule == "M1"
    meeting = schedule(app, secretary, org_id)
    assert (meeting["status"], meeting["chair_person_id"], meeting["n"]) == ("draft", ids[0], None)
    delegated = schedule(app, secretary, org_id, delegate_to=ids[1])     # M1: chaired by the deputy
    assert (delegated["chair_person_id"], delegated["delegated_by"]) == (ids[1], ids[0])
    assert [e["meeting_id"] for e in events(store, "meeting_scheduled")] == [meeting["meeting_id"],
                                                                              delegated["meeting_id"]]
    assert app.get_meeting(secretary, meeting["meeting_id"])["timezone"] == "Asia/Shanghai"
    with pytest.raises(NotFound):                  # another organization's meeting does not exist for them
        app.get_meeting(Actor("x", "another-org", ("secretary",)), meeting["meeting_id"])


def test_m4_m5_notice_needs_an_agenda_and_48_hours(store, clock_moves):
    app = handlers(store)
    org_id, ids, _ = org_with_group(app, 5)
    secretary = member(ids, org_id, 0)
    meeting_id = schedule(app, secretary, org_id, at=clock.now() + dt.timedelta(hours=60))["meeting_id"]
    with pytest.raises(RuleViolation) as err:      # M4: nothing on the agenda
        app.notice_meeting(secretary, meeting_id)
    assert err.value.rule == "M4"
    topic = add_topic(app, secretary, meeting_id)
    clock_moves(dt.timedelta(hours=13))            # 47 h before the meeting
    with pytest.raises(RuleViolation) as err:
        app.notice_meeting(secretary, meeting_id)
    assert err.value.rule == "M5" and "48 hours" in err.value.message
    assert app.get_meeting(secretary, meeting_id)["status"] == "draft"

    meeting_id = schedule(app, secretary, org_id)["meeting_id"]        # 72 h ahead
    topic = add_topic(app, secretary, meeting_id)
    noticed = app.notice_meeting(secretary, meeting_id)
    assert noticed["status"] == "noticed" and [t["topic_id"] for t in noticed["topics"]] == [topic["topic_id"]]
    [event] = events(store, "meeting_noticed")
    assert event["meeting_id"] == meeting_id and sorted(event["recipients"]) == sorted(ids)
    assert [item["title"] for item in event["agenda"]] == ["年度工作计划"]


def test_m8_m9_a_noticed_meeting_opens_with_two_thirds_present_and_approved_leave_recorded(store, clock_moves):
    app = handlers(store)
    org_id, ids, _ = org_with_group(app, 9)
    secretary = member(ids, org_id, 0)
    meeting_id = schedule(app, secretary, org_id)["meeting_id"]
    topic_id = add_topic(app, secretary, meeting_id)["topic_id"]
    app.notice_meeting(secretary, meeting_id)
    # M9: a member asks leave in advance with an opinion on the topic; the chair approves
    leave = app.request_leave(member(ids, org_id, 8), meeting_id, load(schemas.LeaveRequestIn(), {
        "reason": "出差", "opinions": {topic_id: "同意"}}))
    with pytest.raises(Forbidden) as err:          # M9: the chair decides, nobody else
        app.decide_leave(member(ids, org_id, 2), leave["leave_id"], load(schemas.LeaveDecisionIn(), {"approve": True}))
    assert err.value.rule == "M9"
    app.decide_leave(secretary, leave["leave_id"], load(schemas.LeaveDecisionIn(), {"approve": True}))

    opening = lambda present: app.open_meeting(secretary, meeting_id,   # noqa: E731
                                               load(schemas.OpenIn(), {"present": present}))
    clock_moves(dt.timedelta(days=3) - dt.timedelta(hours=1))
    with pytest.raises(RuleViolation) as err:      # M5: an hour before its noticed time is too early
        opening(ids[:6])
    assert err.value.rule == "M5"
    clock_moves(dt.timedelta(minutes=45))          # within the 30 minutes' tolerance
    with pytest.raises(RuleViolation) as err:      # M8: 5 of 9, at least 6 needed
        opening(ids[:5])
    assert err.value.rule == "M8" and "6" in err.value.message
    opened = opening(ids[:6])
    assert (opened["status"], opened["n"], opened["quorum"]) == ("opened", 9, 6)
    statuses = {a["person_id"]: (a["status"], a["written_opinions"]) for a in opened["attendance"]}
    assert statuses[ids[8]] == ("leave", {topic_id: "同意"})           # M9: the opinion goes on record
    assert {pid for pid, (status, _) in statuses.items() if status == "absent"} == {ids[6], ids[7]}
    assert app.quorum_now(secretary, meeting_id) == {"meeting_id": meeting_id, "n": 9, "present": 6,
                                                     "quorum": 6, "met": True}
    # M8: a departure is recorded and the quorum re-read
    assert app.record_departure(secretary, meeting_id, ids[5])["met"] is False
    [event] = events(store, "meeting_opened")
    assert (event["n"], event["present"], event["quorum"]) == (9, 6, 6)


def test_v1_a_meeting_with_open_ballots_does_not_close_and_unknown_voting_fails_closed(store):
    voting = Voting(["ballot-1", "ballot-2"], ServiceUnavailable("voting unreachable", field="meeting_id", rule="V1"),
                    [])
    app = handlers(store, voting)
    org_id, ids, _ = org_with_group(app, 3)
    secretary = member(ids, org_id, 0)
    meeting_id = schedule(app, secretary, org_id, kind="emergency", at=clock.now() + dt.timedelta(minutes=5),
                          emergency_reason="防汛险情")["meeting_id"]
    add_topic(app, secretary, meeting_id)
    app.open_meeting(secretary, meeting_id, load(schemas.OpenIn(), {"present": ids}))
    with pytest.raises(RuleViolation) as err:       # M1: the chair closes
        app.close_meeting(member(ids, org_id, 1), meeting_id)
    assert err.value.rule == "M1" and voting.asked == []
    with pytest.raises(RuleViolation) as err:
        app.close_meeting(secretary, meeting_id)
    assert err.value.rule == "V1" and "2 ballots" in err.value.message
    with pytest.raises(ServiceUnavailable):         # voting cannot tell: the meeting stays open
        app.close_meeting(secretary, meeting_id)
    with pytest.raises(ServiceUnavailable) as err:  # no voting given at all: the same (fail closed)
        handlers(store).close_meeting(secretary, meeting_id)
    assert err.value.rule == "V1"
    assert app.get_meeting(secretary, meeting_id)["status"] == "opened" and events(store, "meeting_closed") == []
    closed = app.close_meeting(secretary, meeting_id)
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert voting.asked == [(secretary.to_dict(), meeting_id)] * 3
    assert [e["closed_by"] for e in events(store, "meeting_closed")] == [ids[0]]


def test_m1_m8_an_ended_term_is_kept_and_n_counts_the_terms_covering_the_day(store):
    app = handlers(store)
    org_id, ids, terms = org_with_group(app, 4)
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()   # the organization's day
    ended = app.end_term(ADMIN, terms[3], load(schemas.EndTermIn(), {
        "end_date": (today - dt.timedelta(days=1)).isoformat(), "reason": "transfer"}))
    assert (ended["end_reason"], ended["end_date"]) == ("transfer", (today - dt.timedelta(days=1)).isoformat())
    with pytest.raises(Forbidden):                  # §2: the administrator ends terms
        app.end_term(member(ids, org_id, 0), terms[2], load(schemas.EndTermIn(), {
            "end_date": today.isoformat(), "reason": "transfer"}))
    with pytest.raises(Exception) as err:           # M1: a term ends once
        app.end_term(ADMIN, terms[3], load(schemas.EndTermIn(), {"end_date": today.isoformat(),
                                                                  "reason": "removal"}))
    assert err.value.rule == "M1"
    secretary = member(ids, org_id, 0)
    yesterday = app.list_members(secretary, org_id, (today - dt.timedelta(days=1)).isoformat())
    now = app.list_members(secretary, org_id, today.isoformat())
    assert (yesterday["n"], now["n"], now["quorum"]) == (4, 3, 2)
    assert ids[3] not in [m["person_id"] for m in now["members"]]
    # the term is kept for life: listed with its end
    listed = app.list_appointments(ADMIN, org_id)["items"]
    assert [a["end_reason"] for a in listed if a["appointment_id"] == terms[3]] == ["transfer"]
    # M8: a meeting held today counts the three in office
    meeting_id = schedule(app, secretary, org_id, kind="emergency", at=clock.now() + dt.timedelta(minutes=5),
                          emergency_reason="突发事件")["meeting_id"]
    add_topic(app, secretary, meeting_id)
    opened = app.open_meeting(secretary, meeting_id, load(schemas.OpenIn(), {"present": ids[:2]}))
    assert (opened["n"], opened["quorum"]) == (3, 2)
    with pytest.raises(RuleViolation) as err:       # M8: the ended member is no longer on the roll
        app.open_meeting(secretary, schedule(app, secretary, org_id, kind="emergency",
                                             at=clock.now() + dt.timedelta(minutes=5),
                                             emergency_reason="突发事件")["meeting_id"],
                         load(schemas.OpenIn(), {"present": ids}))
    assert err.value.rule == "M8" and ids[3] in err.value.message


def test_m10_sign_off_numbers_the_organizations_documents_of_the_year_in_order(store):
    app = handlers(store, Voting([]))
    org_id, ids, _ = org_with_group(app, 3)
    secretary = member(ids, org_id, 0)
    office = Actor("office-1", org_id, ("office",))
    meeting_id = schedule(app, secretary, org_id, kind="emergency", at=clock.now() + dt.timedelta(minutes=5),
                          emergency_reason="防汛险情")["meeting_id"]
    add_topic(app, secretary, meeting_id)
    app.open_meeting(secretary, meeting_id, load(schemas.OpenIn(), {"present": ids}))
    app.close_meeting(secretary, meeting_id)
    drafts = [app.issue_document(office, meeting_id, load(schemas.DocumentIn(), {
        "kind": "summary", "title": f"会议纪要{i}", "body": "内容", "scope": ["各处室"]})) for i in range(2)]
    assert [d["document_number"] for d in drafts] == [None, None]
    with pytest.raises(Forbidden) as err:           # M10: the secretary signs off
        app.sign_off(office, drafts[0]["document_id"])
    assert err.value.rule == "M10"
    signed = [app.sign_off(secretary, d["document_id"]) for d in reversed(drafts)]
    year = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).year
    assert [(d["number_year"], d["number_seq"]) for d in signed] == [(year, 1), (year, 2)]
    register = app.list_documents(secretary, org_id, year)["items"]
    assert [d["document_id"] for d in register] == [drafts[1]["document_id"], drafts[0]["document_id"]]


def test_a_keyed_command_run_again_answers_its_first_result(store):
    """The handlers work on whatever store the worker gives them: with an idempotency key that is a
    ``KeyedWork``, and a repeat of the command answers what the first one did."""
    org_id, ids, _ = org_with_group(handlers(store), 3)
    secretary = member(ids, org_id, 0)
    data = load(schemas.MeetingIn(), {"org_id": org_id, "kind": "regular", "title": "党组会议",
                                      "scheduled_at": (clock.now() + dt.timedelta(days=3)).isoformat()})
    answers = []
    for _ in range(2):
        work = KeyedWork(store, SealedKey(f"{ids[0]}|{org_id}", "key-1"), "schedule_meeting the same request")
        result = application.Meetings(work).schedule_meeting(secretary, data)
        repeat, first = work.settle(result)
        answers.append(first if repeat else result)
        work.close()
    assert answers[0]["meeting_id"] == answers[1]["meeting_id"]
    assert len(events(store, "meeting_scheduled")) == 1
    with store.read() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(models.Meeting)).scalar_one() == 1


def test_the_entrypoints_read_actor_and_input_as_before(store):
    """``actor_rpc``: the actor dict becomes an ``Actor``, ``data`` is loaded by its schema, and an
    administrator's command refuses anyone else before reading their input (as before issue 16)."""
    worker = SimpleNamespace(meetings=handlers(store))
    admin = ADMIN.to_dict()
    org = MeetingsService.create_organization(worker, admin, {"name": "测试局党组"})
    assert org["timezone"] == "Asia/Shanghai"                      # the schema's default
    with pytest.raises(Forbidden):                                 # not "name: required"
        MeetingsService.create_organization(worker, {"person_id": "p", "org_id": None, "roles": []}, {})
    with pytest.raises(ValidationFailed) as err:
        MeetingsService.create_organization(worker, admin, {})
    assert err.value.field == "name"
    with pytest.raises(NotFound) as err:                           # not a validation error of the topic
        MeetingsService.add_topic(worker, admin, 42, {})
    assert err.value.field == "meeting_id"
    with pytest.raises(Exception) as err:                          # no actor: refused first
        MeetingsService.list_organizations(worker, None)
    assert err.value.rule == "AUTH"
