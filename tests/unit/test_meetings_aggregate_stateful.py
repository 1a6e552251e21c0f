"""A model-based test of the Meeting aggregate (issue 16): any order of legitimate calls, with a
clock that moves, never reaches a state the rules forbid.  After every step: I1, I5, I6 (see
``domain.Meeting``); a refused call leaves the meeting exactly as it was."""
import copy
import datetime as dt

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.meetings import domain
from shared.errors import DomainError

UTC = dt.timezone.utc
START = dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PEOPLE = [f"p{i}" for i in range(7)]
CATEGORIES = ("work_plan", "other", "personnel", "major_decision")


def terms_with_ending(day_index):
    """p6's term ends a few days in: N is 7 before, 6 after (I6 must follow it)."""
    terms = [domain.Term("p0", "secretary", dt.date(2020, 1, 1), None)]
    terms += [domain.Term(p, "member", dt.date(2020, 1, 1), None) for p in PEOPLE[1:6]]
    terms.append(domain.Term("p6", "member", dt.date(2020, 1, 1), START.date() + dt.timedelta(days=day_index)))
    return terms


def state(meeting):
    return copy.deepcopy(meeting.__dict__)


class MeetingLife(RuleBasedStateMachine):

    @initialize(kind=st.sampled_from(("regular", "emergency", "expanded")), hours=st.integers(1, 150),
                ending=st.integers(0, 6))
    def schedule(self, kind, hours, ending):
        self.now = START
        self.terms = terms_with_ending(ending)
        self.meeting = domain.Meeting(kind, START + dt.timedelta(hours=hours), START,
                                      emergency_reason="险情" if kind == "emergency" else None)
        self.present_at_opening = None
        self.topic_seq = 1
        self.meeting.add_topic("t1", "work_plan")

    def attempt(self, call):
        """Run one call; a refusal must leave the aggregate untouched (nothing half-written)."""
        before = state(self.meeting)
        try:
            return call()
        except DomainError:
            assert state(self.meeting) == before
            return None

    @rule(hours=st.integers(0, 80))
    def time_passes(self, hours):
        self.now += dt.timedelta(hours=hours, minutes=7)

    @rule(minutes=st.integers(-45, 60))
    def the_day_comes(self, minutes):
        """Time runs to around the meeting's time (never backwards)."""
        self.now = max(self.now, self.meeting.scheduled_at + dt.timedelta(minutes=minutes))

    @rule(category=st.sampled_from(CATEGORIES))
    def add_topic(self, category):
        self.topic_seq += 1
        self.attempt(lambda: self.meeting.add_topic(f"t{self.topic_seq}", category))

    @rule(who=st.sampled_from(PEOPLE[1:]), stance=st.sampled_from(("同意", "反对", "弃权")))
    def approve_leave(self, who, stance):
        opinions = {t: stance for t, _ in self.meeting.topics}
        group = domain.group_members_on(self.terms, self.meeting.scheduled_at.date())
        self.attempt(lambda: self.meeting.approve_leave(who, opinions, who in group))

    @rule()
    def notice(self):
        self.attempt(lambda: self.meeting.notice(self.now))

    @rule(hours=st.integers(-24, 120))
    def reschedule(self, hours):
        self.attempt(lambda: self.meeting.reschedule(self.now + dt.timedelta(hours=hours), self.now))

    @rule(away=st.sets(st.sampled_from(PEOPLE), max_size=3), came=st.booleans(), listed=st.booleans())
    def open(self, away, came, listed):
        group = domain.group_members_on(self.terms, self.meeting.scheduled_at.date())
        if not came:             # members on approved leave usually stay away
            away = away | set(self.meeting.approved_leave)
        present = sorted(set(group) - away)
        # the chair's leave list with empty entries (the defect that erased approved opinions)
        explicit = {p: {} for p in away & set(group)} if listed else {}
        events = self.attempt(lambda: self.meeting.open(group, present, explicit, self.now))
        if events is not None:
            self.present_at_opening = events[0]["present"]

    @rule(open_ballots=st.integers(0, 2))
    def close(self, open_ballots):
        self.attempt(lambda: self.meeting.close([f"b{i}" for i in range(open_ballots)]))

    @rule(really=st.integers(0, 9))
    def cancel(self, really):
        if really == 0:          # rarely: a cancelled meeting ends the interesting part of its life
            self.attempt(self.meeting.cancel)

    # ------------------------------------------------------------ invariants

    @invariant()
    def i1_held_at_its_noticed_time_or_a_justified_emergency_with_quorum(self):
        m = self.meeting
        if m.opened_at is None:
            return
        if m.kind == "emergency":
            assert m.emergency_reason
            assert not {c for _, c in m.topics} & set(domain.NOTICE_ONLY_CATEGORIES)
        else:
            assert m.noticed_at is not None and m.scheduled_at - m.noticed_at >= domain.NOTICE_LEAD
            assert m.opened_at >= m.scheduled_at - domain.OPEN_TOLERANCE
        assert self.present_at_opening >= domain.quorum_required(m.n)

    @invariant()
    def i5_approved_leave_opinions_are_in_the_attendance(self):
        m = self.meeting
        if m.opened_at is None:
            return
        for pid, opinions in m.approved_leave.items():
            status, recorded = m.attendance.get(pid, (None, None))
            if status == "leave":
                for topic_id, text in opinions.items():
                    assert (recorded or {}).get(topic_id) == text

    @invariant()
    def i6_n_is_the_members_whose_term_covers_the_day(self):
        m = self.meeting
        if m.n is not None:
            assert m.n == len(domain.group_members_on(self.terms, m.scheduled_at.date()))


MeetingLife.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_meeting_life = MeetingLife.TestCase
