"""Issue 16: the rules hold whatever the order of legitimate calls — searched by hypothesis over
the real meetings and voting services (RabbitMQ RPC, SQLite and PostgreSQL), not over a model.

A state machine schedules meetings of every kind with topics of every category, notices, lets
time pass on the controlled clock, opens them with some members present, records departures
and arrivals, opens ballots of every method, votes as any member, closes and defers ballots,
closes and cancels meetings — in any order.  Each call either succeeds or is refused with a
typed rule error (never anything else: no 500).  After every step the services' own reads must
show none of the states the rules forbid:

- I1/M5: a regular or expanded meeting opened no earlier than its noticed time (less the
  tolerance) and at least 48 h after its notice; a closed or cancelled meeting never opens again;
- M4/M6: no personnel or major topic on an emergency meeting, and no decision on one;
- V1/M8 (I3): a vote is accepted only inside an open meeting, from a member present at that
  moment (checked against what the test itself recorded), never twice;
- V1: no ballot open on a meeting that is not open; votes cast never exceed the eligible;
- V5/V7 (I2): at most one decision in force per agenda item; a decided item is not voted again;
- V3/V9: a decision's tally adds up to the votes cast, within the members present and N;
- I4/V4: a personnel decision names its item's candidate, and the candidate (a member) is recused;
- I6/M8: a meeting's N is the group members whose term covers its opening day, terms being
  ended (inclusive) at any point of the sequence.
"""
import collections
import datetime as dt
import os

from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from shared import clock
from shared.errors import DomainError
from tests.integration.test_voting_rpc import controlled_clock, member, suite  # noqa: F401  (fixtures)
from tests.support.roster import ADMIN, actor, build_org

pytestmark = pytest.mark.integration

GROUP = 7
CATEGORIES = ("work_plan", "organization", "other", "personnel", "major_decision")
METHODS = ("named", "secret", "show_of_hands")
TOLERANCE = dt.timedelta(minutes=30)            # MEETING_OPEN_TOLERANCE_MINUTES's default
NOTICE = dt.timedelta(hours=48)
PICK = st.integers(0, 1000)                      # which meeting or ballot of those made so far
EXAMPLES = int(os.environ.get("RULES_SEQUENCE_EXAMPLES", "40"))


def parse(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def refused(call):
    """Run a call; a typed rule error is a refusal (None), anything else fails the test."""
    try:
        return call()
    except DomainError:
        return None


def make_machine(rpc, reached):
    """``reached`` counts the calls that succeeded, so the test can show the search got somewhere."""
    class RulesOverRpc(RuleBasedStateMachine):

        @initialize()
        def organization(self):
            self.org_id, self.ids = build_org(rpc.meetings, GROUP)
            self.sec = actor(self.ids[0], self.org_id, "secretary")
            self.known = {}          # meeting_id -> {"kind", "present": set, "ever_closed": bool}
            self.mids = []           # in the order they were made (rules pick one by index)
            self.ballot_meeting = {}  # ballot_id -> meeting_id
            self.voted = set()       # (ballot_id, person index) accepted
            self.closed_ballots = set()
            self.tz = ZoneInfo(rpc.meetings.get_organization(self.sec, self.org_id)["timezone"])

        def meeting_at(self, pick):
            return self.mids[pick % len(self.mids)] if self.mids else "none"

        def ballot_at(self, pick):
            bids = list(self.ballot_meeting)
            return bids[pick % len(bids)] if bids else "none"

        def opened_meeting_at(self, pick):
            """A meeting this test opened and has not ended (most of what follows happens there)."""
            mids = [m for m, seen in self.known.items() if seen["opened"] and not seen["ever_closed"]]
            return mids[pick % len(mids)] if mids else self.meeting_at(pick)

        def open_ballot_at(self, pick):
            bids = [b for b in self.ballot_meeting if b not in self.closed_ballots]
            return bids[pick % len(bids)] if bids else self.ballot_at(pick)

        # ------------------------------------------------------------------ the chair's calls

        @rule(kind=st.sampled_from(("regular", "emergency", "expanded")), hours=st.sampled_from((0, 1, 47, 49, 72)),
              categories=st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3))
        def schedule(self, kind, hours, categories):
            self.make_meeting(kind, hours, categories)

        def make_meeting(self, kind, hours, categories):
            body = {"org_id": self.org_id, "kind": kind, "title": "党组会议",
                    "scheduled_at": (clock.now() + dt.timedelta(hours=hours, minutes=5)).isoformat()}
            if kind == "emergency":
                body["emergency_reason"] = "突发险情"
            made = refused(lambda: rpc.meetings.schedule_meeting(self.sec, body))
            if made is None:
                return
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
                added = refused(lambda: rpc.meetings.add_topic(self.sec, mid, topic))
                # M4/M6: personnel and major matters never on an emergency meeting
                assert not (added and kind == "emergency" and category in ("personnel", "major_decision")), \
                    f"a {category} topic was put on an emergency meeting"
            return mid

        @rule(kind=st.sampled_from(("regular", "emergency")), categories=st.lists(
            st.sampled_from(CATEGORIES), min_size=1, max_size=3), absent=st.sets(st.integers(1, GROUP - 1), max_size=2),
            method=st.sampled_from(METHODS))
        def hold_a_meeting(self, kind, categories, absent, method):
            """The usual path in one step — schedule (49 h ahead for a regular one), notice, the day
            comes, open with most members present, a ballot on the first item — so the search spends
            its steps on what follows (votes, departures, closes, deferrals, in any order)."""
            mid = self.make_meeting(kind, 49 if kind == "regular" else 0, categories)
            if mid is None:
                return
            refused(lambda: rpc.meetings.notice_meeting(self.sec, mid))
            self.the_day_comes(len(self.mids) - 1, 0)
            self.open_meeting(len(self.mids) - 1, set(range(GROUP)) - absent, absent)
            if self.known[mid]["opened"]:
                self.ballot_on(mid, 0, method)

        @rule(pick=PICK)
        def notice(self, pick):
            mid = self.meeting_at(pick)
            if mid != "none":
                refused(lambda: rpc.meetings.notice_meeting(self.sec, mid))

        @rule(hours=st.sampled_from((0, 1, 12, 24, 49, 72)))
        def time_passes(self, hours):
            clock.advance(dt.timedelta(hours=hours, minutes=6))

        @rule(pick=PICK, early=st.sampled_from((0, 20, 45)))
        def the_day_comes(self, pick, early):
            """Time runs to a meeting's time (or a little before it), as it does for a real chair."""
            mid = self.meeting_at(pick)
            if mid == "none":
                return
            at = parse(rpc.meetings.get_meeting(self.sec, mid)["scheduled_at"]) - dt.timedelta(minutes=early)
            if at > clock.now():
                clock.advance(at - clock.now())

        @rule(pick=PICK, present=st.sets(st.integers(0, GROUP - 1), min_size=4, max_size=GROUP))
        def open_meeting(self, pick, present, on_leave=()):
            """Open with ``present``; members ``on_leave`` send a written opinion on each topic (M9)."""
            mid = self.meeting_at(pick)
            if mid == "none":
                return
            leave = []
            if on_leave:
                topics = [t["topic_id"] for t in rpc.meetings.get_meeting(self.sec, mid)["topics"]]
                leave = [{"person_id": self.ids[i], "opinions": {t: f"书面意见{i}-{n}" for n, t in enumerate(topics)}}
                         for i in sorted(on_leave)]
            opened = refused(lambda: rpc.meetings.open_meeting(
                self.sec, mid, {"present": [self.ids[i] for i in sorted(present)], "leave": leave}))
            if opened is not None:
                assert not self.known[mid]["ever_closed"], "a closed or cancelled meeting opened again"
                self.known[mid]["present"] = set(present)
                self.known[mid]["opened"] = True
                self.known[mid]["opinions"] = {entry["person_id"]: entry["opinions"] for entry in leave}
                reached[f"{self.known[mid]['kind']} meeting opened"] += 1

        @rule(pick=PICK, who=st.integers(1, GROUP - 1), leaves=st.booleans())
        def presence(self, pick, who, leaves):
            mid = self.opened_meeting_at(pick)
            if mid == "none":
                return
            call = rpc.meetings.record_departure if leaves else rpc.meetings.record_arrival
            if refused(lambda: call(self.sec, mid, self.ids[who])) is not None:
                (self.known[mid]["present"].discard if leaves else self.known[mid]["present"].add)(who)

        @rule(pick=PICK, position=st.integers(0, 1), method=st.sampled_from(METHODS))
        def open_ballot(self, pick, position, method):
            self.ballot_on(self.opened_meeting_at(pick), position, method)

        def ballot_on(self, mid, position, method):
            if mid == "none":
                return
            topics = refused(lambda: rpc.meetings.get_meeting(self.sec, mid))
            if not topics or position >= len(topics["topics"]):
                return
            tid = topics["topics"][position]["topic_id"]
            opened = refused(lambda: rpc.voting.open_ballot(self.sec, {"meeting_id": mid, "topic_id": tid,
                                                                        "method": method}))
            if opened is None:
                return
            self.ballot_meeting[opened["ballot_id"]] = mid
            reached[f"{method} ballot opened"] += 1

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
            if bid == "none":
                return
            mid = self.ballot_meeting[bid]
            cast = refused(lambda: rpc.voting.cast_vote(member(self.ids, self.org_id, who), bid, {"choice": choice}))
            if cast is not None:
                # V1, M8 (I3): inside an open meeting, from a member present now, once
                meeting = rpc.meetings.get_meeting(self.sec, mid)
                assert meeting["status"] == "opened", f"a vote was accepted at a {meeting['status']} meeting"
                assert who in self.known[mid]["present"], "a vote was accepted from a member not present"
                assert (bid, who) not in self.voted, "a second vote was accepted"
                self.voted.add((bid, who))
                reached["vote accepted"] += 1

        @rule(pick=PICK, reason=st.booleans())
        def close_ballot(self, pick, reason):
            bid = self.open_ballot_at(pick)
            if bid != "none" and refused(lambda: rpc.voting.close_ballot(
                    self.sec, bid, {"confirm_reason": "工作急需"} if reason else {})) is not None:
                self.closed_ballots.add(bid)
                reached["ballot closed"] += 1

        @rule(pick=PICK)
        def defer_ballot(self, pick):
            bid = self.open_ballot_at(pick)
            if bid != "none" and refused(lambda: rpc.voting.defer_ballot(self.sec, bid, {"reason": "进一步调研"})):
                self.closed_ballots.add(bid)
                reached["ballot deferred"] += 1

        @rule(who=st.integers(2, GROUP - 2), days=st.integers(0, 3))
        def a_term_ends(self, who, days):
            """§二: a member is removed or transferred; the term ends on a day (inclusive), today or soon."""
            terms = rpc.meetings.list_appointments(ADMIN, self.org_id, self.ids[who])["items"]
            if terms and terms[-1]["end_date"] is None:
                end = clock.now().astimezone(self.tz).date() + dt.timedelta(days=days)
                if refused(lambda: rpc.meetings.end_term(ADMIN, terms[-1]["appointment_id"], {
                        "end_date": end.isoformat(), "reason": "transfer"})) is not None:
                    reached["term ended"] += 1

        @rule(pick=PICK, cancel=st.booleans())
        def end_meeting(self, pick, cancel):
            mid = self.meeting_at(pick)
            if mid == "none":
                return
            if cancel:
                done = refused(lambda: rpc.meetings.cancel_meeting(self.sec, mid, {"reason": "另行安排"}))
            else:
                done = refused(lambda: rpc.meetings.close_meeting(self.sec, mid))
            if done is not None:
                self.known[mid]["ever_closed"] = True
                reached["meeting cancelled" if cancel else "meeting closed"] += 1

        # ------------------------------------------------------------------ what must always hold

        @invariant()
        def meetings_keep_their_rules(self):
            if not getattr(self, "known", None):
                return
            for mid, seen in self.known.items():
                m = rpc.meetings.get_meeting(self.sec, mid)
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
                    # I6/M8: N is the members whose term covers the opening day (org's zone)
                    day = opened_at.astimezone(self.tz).date()
                    in_office = [t for t in rpc.meetings.list_appointments(ADMIN, self.org_id)["items"]
                                 if dt.date.fromisoformat(t["start_date"]) <= day
                                 and (t["end_date"] is None or day <= dt.date.fromisoformat(t["end_date"]))]
                    assert m["n"] == len({t["person_id"] for t in in_office}), (m["n"], in_office)

        @invariant()
        def ballots_and_decisions_keep_their_rules(self):
            if not getattr(self, "ballot_meeting", None):
                return
            statuses = {mid: rpc.meetings.get_meeting(self.sec, mid)["status"] for mid in self.known}
            for bid, mid in self.ballot_meeting.items():
                b = rpc.voting.get_ballot(self.sec, bid)
                if b["status"] == "open":
                    assert statuses[mid] == "opened", f"ballot open at a {statuses[mid]} meeting (V1)"
                assert b["votes_cast"] <= len(b["eligible"]), b
            decisions = rpc.voting.list_decisions(self.sec, self.org_id, 200, 0)["items"]
            in_force = {}
            for d in decisions:
                assert d["yes"] + d["no"] + d["abstain"] <= d["present"] <= d["n"] <= GROUP, d
                assert not (d["emergency"] and d["category"] in ("personnel", "major_decision")), d
                opinions = self.known.get(d["meeting_id"], {}).get("opinions") or {}
                if opinions:                              # I5/M9: leave opinions are in the decision
                    lines = {m["person_id"]: m for m in rpc.voting.get_decision(self.sec, d["decision_id"])["members"]}
                    for person, written in opinions.items():
                        if person in lines:
                            assert lines[person]["written_opinion"] == written.get(d["agenda_item_id"]), \
                                (person, lines[person], written)
                            reached["leave opinion in a decision"] = max(reached["leave opinion in a decision"], 1)
                if d["category"] == "personnel":        # I4: the item's candidate, recused (V4)
                    assert d["candidate_person_id"] == self.ids[GROUP - 1], d
                    assert self.ids[GROUP - 1] in d["recused"], d
                    reached["personnel decision"] = max(reached["personnel decision"], 1)
                if d["status"] == "in_force":
                    assert d["agenda_item_id"] not in in_force, "two decisions in force on one item (V5, V7)"
                    in_force[d["agenda_item_id"]] = d["decision_id"]

    return RulesOverRpc


# the rules are the same on both backends (each has its own tests); the search runs on SQLite
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_order_of_legitimate_calls_reaches_a_forbidden_state(suite):
    rpc, _tap, _engine = suite
    reached = collections.Counter()
    run_state_machine_as_test(make_machine(rpc, reached), settings=settings(
        max_examples=EXAMPLES, stateful_step_count=30, deadline=None, derandomize=True, database=None,
        # no shrinking: each step is a round trip to the services, and the failing sequence is
        # printed step by step as it was found
        phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=list(HealthCheck)))
    print(dict(reached))
    # the search reached opened meetings, where the rules bite, not only refusals; how much further
    # it goes (votes, closes, ended terms) depends on its draws, which differ between machines:
    # printed above, not asserted
    for state in ("regular meeting opened", "emergency meeting opened"):
        assert reached[state] > 0, f"no sequence reached '{state}': {dict(reached)}"
