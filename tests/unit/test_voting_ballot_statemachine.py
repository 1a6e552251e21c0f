"""Issue 16: a stateful, model-based test of the voting aggregate (hypothesis RuleBasedStateMachine).

Legitimate calls in any order — meetings opening and closing, members leaving and coming back,
conflicts declared, ballots opened, voted, closed, deferred, reconsidered — and after every step:

- I2: at most one decision in force per item; a superseded decision names its successor, a
  passed reconsideration of it;
- I3: every counted vote came from a group member present at that moment, not recused, cast
  while the meeting was open;
- I4: a personnel decision names exactly its item's candidate;
- and the item's N leaves the recused out (V4).
"""
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.voting import domain
from shared.errors import DomainError

MEMBERS = ("p0", "p1", "p2", "p3", "p4", "p5")
N = len(MEMBERS)
ITEMS = {
    "i-plan": {"topic_id": "i-plan", "category": "work_plan", "candidate_person_id": None, "title": "计划"},
    "i-major": {"topic_id": "i-major", "category": "major_decision", "candidate_person_id": None, "title": "重大"},
    "i-member": {"topic_id": "i-member", "category": "personnel", "candidate_person_id": "p5", "title": "任命p5"},
    "i-outside": {"topic_id": "i-outside", "category": "personnel", "candidate_person_id": "x9", "title": "任命x9"},
}
SECRETARY = ("secretary",)
member = st.sampled_from(MEMBERS)
item = st.sampled_from(sorted(ITEMS))


class VotingMachine(RuleBasedStateMachine):

    @initialize()
    def setup(self):
        self.meeting_no = 0
        self.meeting = None                       # {"meeting_id", "status", "chair_person_id", "emergency"}
        self.presence = {}
        self.declared = {i: set() for i in ITEMS}
        self.open = {}                            # item -> Ballot
        self.ballots = {}                         # ballot_id -> Ballot
        self.decisions = {i: [] for i in ITEMS}
        self.accepted = {}                        # (ballot_id, person_id) -> facts at the moment of the vote
        self.seq = 0
        self.open_meeting(set(), False)

    def _id(self, prefix):
        self.seq += 1
        return f"{prefix}{self.seq}"

    # ------------------------------------------------------------ meetings (the meetings side, modelled)

    @rule(absent=st.sets(member, max_size=2), emergency=st.booleans())
    def open_meeting(self, absent, emergency):
        if self.meeting and self.meeting["status"] == "opened":
            return                                # one meeting at a time; the next after this one closed
        self.meeting_no += 1
        self.meeting = {"meeting_id": f"m{self.meeting_no}", "status": "opened", "chair_person_id": "p0",
                        "emergency": emergency}
        self.presence = {p: "absent" if p in absent else "present" for p in MEMBERS}

    @rule(now=st.booleans(), really=st.booleans())
    def close_meeting(self, now=True, really=True):
        if not self.meeting or not (now and really):
            return
        self.meeting["status"] = "closed"
        for key, ballot in list(self.open.items()):
            if ballot.meeting_id == self.meeting["meeting_id"]:
                ballot.lapse()
                del self.open[key]

    @rule(who=member, back=st.booleans())
    def departure_or_arrival(self, who, back):
        if self.meeting and self.meeting["status"] == "opened":
            self.presence[who] = "present" if back else "absent"

    @rule(who=member, on=item)
    def declare_conflict(self, who, on):
        ballot = self.open.get(on)
        if ballot is None or who not in ballot.choices:     # before voting only (check_declaration)
            self.declared[on].add(who)

    # ------------------------------------------------------------ the aggregate

    @rule(on=item, method=st.sampled_from(domain.METHODS), reconsider=st.booleans(), name_other=st.booleans())
    def open_ballot(self, on, method, reconsider, name_other):
        if not self.meeting:
            return
        target = None
        if reconsider:
            target = next((d["decision_id"] for d in self.decisions[on] if d["outcome"] == "passed"
                           and domain.in_force(d["outcome"], d["superseded_by"], bool(d["reconsidered_decision_id"]))),
                          None)
        electorate = {p: domain.Elector(p, "secretary" if p == "p0" else "member", self.presence[p]) for p in MEMBERS}
        candidate = ITEMS[on]["candidate_person_id"]
        candidates = (["p1"] if name_other else [candidate]) if candidate else None
        open_id = self.open[on].ballot_id if on in self.open else None
        try:
            ballot, events = domain.Ballot.open(
                self._id("b"), "p0", SECRETARY, self.meeting, ITEMS[on], method, N, electorate, candidates,
                self.declared[on], self.decisions[on], open_id, target)
        except DomainError:
            return
        assert not name_other or candidate is None, "V4: a ballot named another candidate than its item's"
        assert events[0][0] == "ballot_opened"
        self.open[on] = self.ballots[ballot.ballot_id] = ballot

    @rule(on=item, votes=st.lists(st.tuples(member, st.sampled_from(domain.CHOICES)), min_size=1, max_size=8),
          stale=st.booleans())
    def cast(self, on, votes, stale):
        """Several members vote in turn, on the item's open ballot or (``stale``) on its latest one."""
        ballots = [b for b in self.ballots.values() if b.item["topic_id"] == on]
        ballot = ballots[-1] if stale and ballots else self.open.get(on)
        if ballot is None or not self.meeting:
            return
        for who, choice in votes:
            facts = {"meeting_status": self.meeting["status"], "meeting_id": self.meeting["meeting_id"],
                     "presence": self.presence.get(who), "recused": ballot.electorate[who].recused}
            try:
                ballot.cast(who, choice, self.meeting["status"], self.presence.get(who))
            except DomainError:
                continue
            self.accepted[(ballot.ballot_id, who)] = facts

    @rule(on=item, confirm=st.booleans(), defer=st.booleans())
    def close(self, on, confirm, defer):
        ballot = self.open.get(on)
        if ballot is None or not self.meeting:
            return
        try:
            decision, events = ballot.close(self._id("d"), "p0", SECRETARY, self.meeting["status"],
                                            confirm_reason="理由" if confirm else None,
                                            defer_reason="再研究" if defer else None)
        except DomainError:
            return
        del self.open[on]
        domain.supersede(self.decisions[on], decision)
        assert [e for e, _ in events][:2] == ["ballot_closed", "result_decided"]

    # ------------------------------------------------------------ invariants

    @invariant()
    def i2_one_decision_in_force_per_item(self):
        for on, decisions in self.decisions.items():
            in_force = [d for d in decisions
                        if domain.in_force(d["outcome"], d["superseded_by"], bool(d["reconsidered_decision_id"]))]
            assert len(in_force) <= 1, (on, in_force)
            by_id = {d["decision_id"]: d for d in decisions}
            for d in decisions:
                if d["superseded_by"]:
                    successor = by_id[d["superseded_by"]]
                    assert successor["reconsidered_decision_id"] == d["decision_id"]
                    assert successor["outcome"] == "passed"

    @invariant()
    def i3_every_counted_vote_was_cast_by_a_present_member_in_an_open_meeting(self):
        for decisions in self.decisions.values():
            for d in decisions:
                for who in d["voters"]:
                    facts = self.accepted[(d["ballot_id"], who)]
                    assert facts["meeting_status"] == "opened" and facts["meeting_id"] == d["meeting_id"]
                    assert facts["presence"] == "present" and not facts["recused"]
                    assert who in MEMBERS and who not in d["recused"]

    @invariant()
    def i4_a_personnel_decision_names_its_items_candidate(self):
        for on, decisions in self.decisions.items():
            for d in decisions:
                assert d["candidate_person_id"] == ITEMS[on]["candidate_person_id"]
                if on == "i-member":
                    assert "p5" in d["recused"]          # the candidate is a member: recused (V4)

    @invariant()
    def v4_the_items_n_leaves_the_recused_out(self):
        for decisions in self.decisions.values():
            for d in decisions:
                assert d["n"] == N - len(d["recused"]) and d["threshold"] == d["n"] // 2 + 1
                assert d["yes"] + d["no"] + d["abstain"] == len(d["voters"])


VotingMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
TestVotingMachine = VotingMachine.TestCase
