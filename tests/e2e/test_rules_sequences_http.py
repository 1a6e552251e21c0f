"""Issue 16: the rules hold whatever the order of legitimate calls, searched by hypothesis over the
running suite's public API — the HTTP gateway, every service its own process — as the staff would
call it: the secretary schedules, notices, opens, runs ballots and closes; each member votes with
their own account; the administrator ends terms.

The model-level search (tests/unit) and the RPC-level one (tests/integration) cover more ground per
second; this one proves the same invariants survive the gateway (its role checks, validation,
idempotency keys and error mapping).  Each step either succeeds or is refused with a 4xx naming its
rule; a 5xx or a 401 fails the test.  After every step the suite's own reads must show none of the
states the rules forbid:

- I1/M5: a regular or expanded meeting opened no earlier than its noticed time less the
  tolerance, noticed at least 48 h ahead; a closed or cancelled meeting never opens again;
- M4/M6: no personnel or major topic on an emergency meeting, and no decision on one;
- I3/V1/M8: a vote is accepted only inside an open meeting, from a member present at that
  moment (as the test itself recorded it), never twice; no ballot stays open on a meeting
  that is not open;
- I2/V5/V7: at most one decision in force per agenda item;
- V3/V9: a decision's tally fits within the members present and N;
- I4/V4: a personnel decision names its item's candidate, and the candidate (a member) is recused;
- I5/M9: approved leave opinions appear in the decision;
- I6/M8: a meeting's N is the group members whose term covers its opening day.

Every example runs in an organization of its own (made through the API, accounts enrolled with
codes from the members' inboxes), so terms ended in one example do not shrink the next one's group.
"""
import collections
import datetime as dt
import os
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from shared import clock
from tests.browser import conftest as browser_conftest
from tests.e2e.conftest import login, notifications_db
from tests.support.enrolment import enrol

pytestmark = pytest.mark.e2e

GROUP = 7
CATEGORIES = ("work_plan", "organization", "other", "personnel", "major_decision")
METHODS = ("named", "secret", "show_of_hands")
TOLERANCE = dt.timedelta(minutes=30)            # MEETING_OPEN_TOLERANCE_MINUTES's default
NOTICE = dt.timedelta(hours=48)
PICK = st.integers(0, 1000)                      # which meeting or ballot of those made so far
PASSWORD = "sequence-password-2026"
EXAMPLES = int(os.environ.get("HTTP_SEQUENCE_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def suite(broker, tmp_path_factory):
    """A suite of this module's own: its clock moves (M5's 48 h), the others' stays put."""
    yield from browser_conftest.clocked_suite(broker, tmp_path_factory)


def parse(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class Refused(Exception):
    pass


def answer(r):
    """The JSON of a 2xx; a 4xx other than 401 is a refusal (None); anything else fails the test."""
    if r.status_code < 300:
        return r.json() if r.content else {}
    assert r.status_code != 401, f"the session was lost: {r.request.method} {r.request.url}: {r.text}"
    assert 400 <= r.status_code < 500, f"{r.request.method} {r.request.url} -> {r.status_code} {r.text}"
    body = r.json()
    assert body.get("error"), f"a refusal names no error: {r.status_code} {r.text}"
    return None


def make_machine(suite, reached):
    base = suite.base
    admin, _ = login(base, "admin")

    class RulesOverHttp(RuleBasedStateMachine):

        @initialize()
        def organization(self):
            """An organization of GROUP members: p0 secretary, p1 deputy, the rest members."""
            tag = uuid.uuid4().hex[:8]
            self.org_id = f"seq-{tag}"
            assert answer(admin.post("/api/v1/organizations", json={"name": "顺序测试局党组", "org_id": self.org_id}))
            self.ids, self.clients = [], []
            for i in range(GROUP):
                pid = f"seq-{tag}-p{i}"
                role = "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member"
                assert answer(admin.post("/api/v1/persons", json={"name": f"成员{i}", "person_id": pid}))
                assert answer(admin.post("/api/v1/appointments", json={
                    "org_id": self.org_id, "person_id": pid, "role": role, "start_date": "2020-01-01"}))
                enrol(base, admin.token, pid, self.org_id, pid, PASSWORD, notifications_db(suite))
                self.ids.append(pid)
                self.clients.append(login(base, pid, PASSWORD)[0])
            self.sec = self.clients[0]
            self.tz = ZoneInfo(answer(self.sec.get(f"/api/v1/organizations/{self.org_id}"))["timezone"])
            self.known = {}           # meeting_id -> what the test saw happen to it
            self.mids = []
            self.ballot_meeting = {}  # ballot_id -> meeting_id
            self.voted = set()
            self.closed_ballots = set()

        def meeting_at(self, pick):
            return self.mids[pick % len(self.mids)] if self.mids else None

        def ballot_at(self, pick):
            bids = list(self.ballot_meeting)
            return bids[pick % len(bids)] if bids else None

        def opened_meeting_at(self, pick):
            mids = [m for m, seen in self.known.items() if seen["opened"] and not seen["ever_closed"]]
            return mids[pick % len(mids)] if mids else self.meeting_at(pick)

        def open_ballot_at(self, pick):
            bids = [b for b in self.ballot_meeting if b not in self.closed_ballots]
            return bids[pick % len(bids)] if bids else self.ballot_at(pick)

        def meeting(self, mid):
            return answer(self.sec.get(f"/api/v1/meetings/{mid}"))

        # ------------------------------------------------------------------ the secretary's calls

        @rule(kind=st.sampled_from(("regular", "emergency", "expanded")), hours=st.sampled_from((0, 1, 47, 49, 72)),
              categories=st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3))
        def schedule(self, kind, hours, categories):
            self.make_meeting(kind, hours, categories)

        def make_meeting(self, kind, hours, categories):
            body = {"kind": kind, "title": "党组会议",
                    "scheduled_at": clock.iso(clock.now() + dt.timedelta(hours=hours, minutes=5))}
            if kind == "emergency":
                body["emergency_reason"] = "突发险情"
            made = answer(self.sec.post("/api/v1/meetings", json=body))
            if made is None:
                return None
            mid = made["meeting_id"]
            self.known[mid] = {"kind": kind, "present": set(), "ever_closed": False, "opened": False}
            self.mids.append(mid)
            for i, category in enumerate(categories):
                topic = {"title": f"议题{i}", "category": category}
                if category == "personnel":
                    topic["candidate_person_ids"] = [self.ids[GROUP - 1]]
                if category == "major_decision":
                    topic["precoordination"] = {"leader_person_id": self.ids[1], "with_whom": ["成员"],
                                                "outcome": "原则同意"}
                    topic["preparation"] = {"research": "已调研", "opinions_from": ["财务处"],
                                            "risk_assessment": "可控", "legal_review": "合法"}
                added = answer(self.sec.post(f"/api/v1/meetings/{mid}/topics", json=topic))
                # M4/M6: personnel and major matters never on an emergency meeting
                assert not (added and kind == "emergency" and category in ("personnel", "major_decision")), \
                    f"a {category} topic was put on an emergency meeting"
            return mid

        @rule(kind=st.sampled_from(("regular", "emergency")), categories=st.lists(
            st.sampled_from(CATEGORIES), min_size=1, max_size=3), absent=st.sets(st.integers(1, GROUP - 1), max_size=2),
            method=st.sampled_from(METHODS))
        def hold_a_meeting(self, kind, categories, absent, method):
            """The usual path in one step, so that the search spends its steps on what follows."""
            mid = self.make_meeting(kind, 49 if kind == "regular" else 0, categories)
            if mid is None:
                return
            answer(self.sec.post(f"/api/v1/meetings/{mid}/notice"))
            self.the_day_comes(len(self.mids) - 1, 0)
            self.open_meeting(len(self.mids) - 1, set(range(GROUP)) - absent, absent)
            if self.known[mid]["opened"]:
                self.ballot_on(mid, 0, method)

        @rule(pick=PICK)
        def notice(self, pick):
            mid = self.meeting_at(pick)
            if mid:
                answer(self.sec.post(f"/api/v1/meetings/{mid}/notice"))

        @rule(hours=st.sampled_from((0, 1, 12, 24, 49, 72)))
        def time_passes(self, hours):
            clock.advance(dt.timedelta(hours=hours, minutes=6))

        @rule(pick=PICK, early=st.sampled_from((0, 20, 45)))
        def the_day_comes(self, pick, early):
            mid = self.meeting_at(pick)
            if mid is None:
                return
            at = parse(self.meeting(mid)["scheduled_at"]) - dt.timedelta(minutes=early)
            if at > clock.now():
                clock.advance(at - clock.now())

        @rule(pick=PICK, present=st.sets(st.integers(0, GROUP - 1), min_size=4, max_size=GROUP))
        def open_meeting(self, pick, present, on_leave=()):
            mid = self.meeting_at(pick)
            if mid is None:
                return
            leave = []
            if on_leave:
                topics = [t["topic_id"] for t in self.meeting(mid)["topics"]]
                leave = [{"person_id": self.ids[i], "opinions": {t: f"书面意见{i}-{n}" for n, t in enumerate(topics)}}
                         for i in sorted(on_leave)]
            opened = answer(self.sec.post(f"/api/v1/meetings/{mid}/open", json={
                "present": [self.ids[i] for i in sorted(present)], "leave": leave}))
            if opened is not None:
                assert not self.known[mid]["ever_closed"], "a closed or cancelled meeting opened again"
                self.known[mid].update(present=set(present), opened=True,
                                       opinions={entry["person_id"]: entry["opinions"] for entry in leave})
                reached[f"{self.known[mid]['kind']} meeting opened"] += 1

        @rule(pick=PICK, who=st.integers(1, GROUP - 1), leaves=st.booleans())
        def presence(self, pick, who, leaves):
            mid = self.opened_meeting_at(pick)
            if mid is None:
                return
            path = "departures" if leaves else "arrivals"
            if answer(self.sec.post(f"/api/v1/meetings/{mid}/{path}", json={"person_id": self.ids[who]})) is not None:
                (self.known[mid]["present"].discard if leaves else self.known[mid]["present"].add)(who)

        @rule(pick=PICK, position=st.integers(0, 1), method=st.sampled_from(METHODS))
        def open_ballot(self, pick, position, method):
            self.ballot_on(self.opened_meeting_at(pick), position, method)

        def ballot_on(self, mid, position, method):
            if mid is None:
                return
            topics = self.meeting(mid)["topics"]
            if position >= len(topics):
                return
            opened = answer(self.sec.post("/api/v1/ballots", json={
                "meeting_id": mid, "topic_id": topics[position]["topic_id"], "method": method}))
            if opened is not None:
                self.ballot_meeting[opened["ballot_id"]] = mid
                reached[f"{method} ballot opened"] += 1

        # ------------------------------------------------------------------ each member's own calls

        @rule(pick=PICK, who=st.integers(0, GROUP - 1), choice=st.sampled_from(("yes", "no", "abstain")))
        def cast_vote_on_any_ballot(self, pick, who, choice):
            self.vote(self.ballot_at(pick), who, choice)

        @rule(pick=PICK, voters=st.lists(st.integers(0, GROUP - 1), min_size=1, max_size=GROUP),
              choice=st.sampled_from(("yes", "no", "abstain")))
        def members_vote(self, pick, voters, choice):
            bid = self.open_ballot_at(pick)
            for who in voters:
                self.vote(bid, who, choice)

        def vote(self, bid, who, choice):
            if bid is None:
                return
            mid = self.ballot_meeting[bid]
            cast = answer(self.clients[who].post(f"/api/v1/ballots/{bid}/votes", json={"choice": choice}))
            if cast is not None:
                # V1, M8 (I3): inside an open meeting, from a member present now, once
                status = self.meeting(mid)["status"]
                assert status == "opened", f"a vote was accepted at a {status} meeting"
                assert who in self.known[mid]["present"], "a vote was accepted from a member not present"
                assert (bid, who) not in self.voted, "a second vote was accepted"
                self.voted.add((bid, who))
                reached["vote accepted"] += 1

        @rule(pick=PICK, reason=st.booleans())
        def close_ballot(self, pick, reason):
            bid = self.open_ballot_at(pick)
            if bid and answer(self.sec.post(f"/api/v1/ballots/{bid}/close",
                                            json={"confirm_reason": "工作急需"} if reason else {})) is not None:
                self.closed_ballots.add(bid)
                reached["ballot closed"] += 1

        @rule(pick=PICK)
        def defer_ballot(self, pick):
            bid = self.open_ballot_at(pick)
            if bid and answer(self.sec.post(f"/api/v1/ballots/{bid}/defer", json={"reason": "进一步调研"})) is not None:
                self.closed_ballots.add(bid)
                reached["ballot deferred"] += 1

        @rule(who=st.integers(2, GROUP - 2), days=st.integers(0, 3))
        def a_term_ends(self, who, days):
            """§二: a member is transferred; the administrator ends the term on a day (inclusive)."""
            terms = answer(admin.get("/api/v1/appointments",
                                     params={"org_id": self.org_id, "person_id": self.ids[who]}))["items"]
            if terms and terms[-1]["end_date"] is None:
                end = clock.now().astimezone(self.tz).date() + dt.timedelta(days=days)
                if answer(admin.post(f"/api/v1/appointments/{terms[-1]['appointment_id']}/end", json={
                        "end_date": end.isoformat(), "reason": "transfer"})) is not None:
                    reached["term ended"] += 1

        @rule(pick=PICK, cancel=st.booleans())
        def end_meeting(self, pick, cancel):
            mid = self.meeting_at(pick)
            if mid is None:
                return
            if cancel:
                done = answer(self.sec.post(f"/api/v1/meetings/{mid}/cancel", json={"reason": "另行安排"}))
            else:
                done = answer(self.sec.post(f"/api/v1/meetings/{mid}/close"))
            if done is not None:
                self.known[mid]["ever_closed"] = True
                reached["meeting cancelled" if cancel else "meeting closed"] += 1

        # ------------------------------------------------------------------ what must always hold

        @invariant()
        def meetings_keep_their_rules(self):
            if not getattr(self, "known", None):
                return
            terms = None
            for mid, seen in self.known.items():
                m = self.meeting(mid)
                if seen["ever_closed"]:
                    assert m["status"] in ("closed", "cancelled"), f"{mid} is {m['status']} after its end"
                opened_at = parse(m["opened_at"])
                if opened_at is not None and m["kind"] in ("regular", "expanded"):
                    scheduled, noticed = parse(m["scheduled_at"]), parse(m["noticed_at"])
                    assert noticed is not None, "a regular meeting opened without notice (M5)"
                    assert opened_at >= scheduled - TOLERANCE, "opened before its noticed time (M5)"
                    assert scheduled - noticed >= NOTICE, "noticed less than 48 h ahead (M5)"
                if m["kind"] == "emergency":
                    assert not [t for t in m["topics"] if t["category"] in ("personnel", "major_decision")]
                if opened_at is not None:
                    # I6/M8: N is the members whose term covers the opening day (the org's zone)
                    terms = terms or answer(admin.get("/api/v1/appointments", params={"org_id": self.org_id}))["items"]
                    day = opened_at.astimezone(self.tz).date()
                    in_office = {t["person_id"] for t in terms
                                 if dt.date.fromisoformat(t["start_date"]) <= day
                                 and (t["end_date"] is None or day <= dt.date.fromisoformat(t["end_date"]))}
                    assert m["n"] == len(in_office), (m["n"], in_office)

        @invariant()
        def ballots_and_decisions_keep_their_rules(self):
            if not getattr(self, "ballot_meeting", None):
                return
            statuses = {mid: self.meeting(mid)["status"] for mid in self.known}
            for bid, mid in self.ballot_meeting.items():
                b = answer(self.sec.get(f"/api/v1/ballots/{bid}"))
                if b["status"] == "open":
                    assert statuses[mid] == "opened", f"ballot open at a {statuses[mid]} meeting (V1)"
                assert b["votes_cast"] <= len(b["eligible"]), b
            in_force = {}
            for d in answer(self.sec.get("/api/v1/decisions", params={"limit": 200}))["items"]:
                assert d["yes"] + d["no"] + d["abstain"] <= d["present"] <= d["n"] <= GROUP, d
                assert not (d["emergency"] and d["category"] in ("personnel", "major_decision")), d
                opinions = self.known.get(d["meeting_id"], {}).get("opinions") or {}
                if opinions:                              # I5/M9: leave opinions are in the decision
                    full = answer(self.sec.get(f"/api/v1/decisions/{d['decision_id']}"))
                    lines = {line["person_id"]: line for line in full["members"]}
                    for person, written in opinions.items():
                        if person in lines:
                            assert lines[person]["written_opinion"] == written.get(d["agenda_item_id"]), \
                                (person, lines[person], written)
                            reached["leave opinion in a decision"] = 1
                if d["category"] == "personnel":        # I4: the item's candidate, recused (V4)
                    assert d["candidate_person_id"] == self.ids[GROUP - 1], d
                    assert self.ids[GROUP - 1] in d["recused"], d
                    reached["personnel decision"] = 1
                if d["status"] == "in_force":
                    assert d["agenda_item_id"] not in in_force, "two decisions in force on one item (V5, V7)"
                    in_force[d["agenda_item_id"]] = d["decision_id"]

    return RulesOverHttp


def test_no_order_of_calls_through_the_gateway_reaches_a_forbidden_state(suite):
    reached = collections.Counter()
    run_state_machine_as_test(make_machine(suite, reached), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=25, deadline=None, derandomize=True, database=None,
        # no shrinking: each step is several HTTP round trips; the failing sequence is printed as found
        phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=list(HealthCheck)))
    print(dict(reached))
    # the search got to where the rules bite (opened meetings, accepted votes), not only refusals;
    # how much further it goes depends on its draws, printed above and not asserted
    for state in ("regular meeting opened", "emergency meeting opened", "vote accepted"):
        assert reached[state] > 0, f"no sequence reached '{state}': {dict(reached)}"
