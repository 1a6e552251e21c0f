"""Voting rules in plain Python (no nameko, no HTTP, no database).

Each check raises a typed error naming its SPEC rule; the service layer calls
them before it writes anything, so a refused action changes nothing.
"""
from dataclasses import dataclass

from shared.errors import Conflict, RuleViolation, ValidationFailed

METHODS = ("oral", "show_of_hands", "named", "secret")          # V2
CHOICES = ("yes", "no", "abstain")                               # V2
OUTCOMES = ("passed", "failed", "deferred")                      # V9
PRESENCES = ("present", "leave", "absent")
GROUP_ROLES = ("secretary", "deputy_secretary", "member")
OPEN, CLOSED = "open", "closed"
OPINION_MAX = 5000


@dataclass(frozen=True)
class Elector:
    """One group member as the ballot's attendance snapshot saw them."""
    person_id: str
    role: str
    presence: str
    written_opinion: str | None = None

    @property
    def may_vote(self):
        """V1: a group member who is present."""
        return self.presence == "present" and self.role in GROUP_ROLES


# ---------------------------------------------------------------- arithmetic (V3, M8)

def quorum_required(n):
    """M8: at least two thirds of the N group members: ceil(2N/3)."""
    if n < 0:
        raise ValueError("N cannot be negative")
    return (2 * n + 2) // 3


def threshold(n):
    """V3: the least number of yes votes that is MORE than half of N: N // 2 + 1."""
    if n < 0:
        raise ValueError("N cannot be negative")
    return n // 2 + 1


def outcome(yes, n):
    """V3: passed ⇔ 2·yes > N, N = group members who should attend (not present, not votes cast)."""
    if yes < 0 or n < 0:
        raise ValueError("counts cannot be negative")
    return "passed" if 2 * yes > n else "failed"


def tally(choices):
    """V9: count the stored choices; anything but yes/no/abstain is corrupt data."""
    counts = {c: 0 for c in CHOICES}
    for choice in choices:
        if choice not in counts:
            raise ValueError(f"V9: a stored choice {choice!r} is not one of {', '.join(CHOICES)}")
        counts[choice] += 1
    return counts


def check_tally(counts, votes_cast):
    """V9: the ballot box holds exactly one choice per person on the participation roll."""
    total = sum(counts.values())
    if total != votes_cast:
        raise RuleViolation(f"V9: the ballot box holds {total} choices but {votes_cast} members voted; "
                            "the ballot cannot be closed", field="ballot_id", rule="V9")


def explain(yes, no, abstain, n, present, result):
    """A human sentence saying how V3 decided the outcome."""
    need = threshold(n)
    return (f"V3: {yes} yes of N={n} — more than half (≥{need}) needed — {result} "
            f"(no {no}, abstain {abstain}; {present} of {n} present)")


# ---------------------------------------------------------------- checks

def check_method(method):
    """V2: one of the four methods, chosen per ballot."""
    if method not in METHODS:
        raise ValidationFailed(f"method: must be one of {', '.join(METHODS)}", field="method", rule="V2")


def electorate_from_snapshot(members):
    """The ballot's copy of the attendance snapshot -> {person_id: Elector}."""
    electorate = {}
    for i, m in enumerate(members):
        pid = m["person_id"]
        if pid in electorate:
            raise ValidationFailed(f"members.{i}.person_id: {pid!r} listed twice in the attendance snapshot",
                                   field=f"members.{i}.person_id", rule="V1")
        if m["presence"] not in PRESENCES:
            raise ValidationFailed(f"members.{i}.presence: must be one of {', '.join(PRESENCES)}",
                                   field=f"members.{i}.presence", rule="V1")
        opinion = m.get("written_opinion") if m["presence"] == "leave" else None
        electorate[pid] = Elector(pid, m.get("role") or "member", m["presence"], opinion)
    return electorate


def check_open(actor_person_id, actor_roles, chair_person_id, method, n, electorate, open_ballot_id):
    """Open a ballot: only the chair (M1), a known method (V2), one open ballot per item (V4),
    and the quorum holds again now (M8)."""
    if actor_person_id != chair_person_id and "system" not in actor_roles:
        raise RuleViolation("M1: only the meeting's chair opens a ballot", field="actor", rule="M1")
    check_method(method)
    if open_ballot_id is not None:
        raise Conflict(f"V4: ballot {open_ballot_id} on this agenda item is still open; "
                       "items are voted one ballot at a time", field="topic_id", rule="V4")
    if n is None or n < 1:
        raise RuleViolation("M8: the meeting has no group members in office", field="meeting_id", rule="M8")
    if len(electorate) != n:
        raise RuleViolation(f"M8: the attendance snapshot lists {len(electorate)} group members but N={n}",
                            field="meeting_id", rule="M8")
    present = sum(1 for e in electorate.values() if e.presence == "present")
    needed = quorum_required(n)
    if present < needed:
        raise RuleViolation(f"M8: quorum not reached when the ballot opens: {present} of {n} group members "
                            f"present, at least {needed} (two thirds) needed", field="present", rule="M8")
    return present


def clean_opinion(text):
    """V6: a reserved opinion is free text; blank means none."""
    if text is None:
        return None
    text = str(text).strip()
    if len(text) > OPINION_MAX:
        raise ValidationFailed(f"reserved_opinion: at most {OPINION_MAX} characters",
                               field="reserved_opinion", rule="V6")
    return text or None


def check_can_vote(elector, status, already_voted, choice):
    """V9: a closed ballot takes no vote; V1: only present group members, once per ballot."""
    if status != OPEN:
        raise Conflict("V9: the ballot is closed; its result is final", field="ballot_id", rule="V9")
    if choice not in CHOICES:
        raise ValidationFailed(f"choice: must be one of {', '.join(CHOICES)}", field="choice", rule="V2")
    if elector is None:
        raise RuleViolation("V1: only group members present at the meeting may vote; "
                            "you are not a group member of this meeting", field="actor", rule="V1")
    if elector.presence == "leave":
        raise RuleViolation("V1: a member on leave cannot vote (their written opinion is recorded instead, M9)",
                            field="actor", rule="V1")
    if not elector.may_vote:
        raise RuleViolation("V1: only group members present at the meeting may vote", field="actor", rule="V1")
    if already_voted:
        raise Conflict("V1: one person, one vote: you have already voted on this ballot",
                       field="actor", rule="V1")


def check_close(actor_person_id, actor_roles, chair_person_id, status):
    """V9: only the chair closes, and a closed ballot is final."""
    if actor_person_id != chair_person_id and "system" not in actor_roles:
        raise RuleViolation("M1: only the meeting's chair closes a ballot", field="actor", rule="M1")
    if status != OPEN:
        raise Conflict("V9: the ballot is already closed; its result is final", field="ballot_id", rule="V9")


def decide(counts, n, present):
    """V3 + V9: the figures every decision records."""
    result = outcome(counts["yes"], n)
    return {
        "n": n, "present": present,
        "yes": counts["yes"], "no": counts["no"], "abstain": counts["abstain"],
        "threshold": threshold(n), "outcome": result,
        "explanation": explain(counts["yes"], counts["no"], counts["abstain"], n, present, result),
    }


def member_lines(electorate, voted, reserved, stances, secret):
    """Per group member of the snapshot, sorted by person_id (the result_decided ``members``).

    ``voted``: person ids on the participation roll; ``reserved``: person_id -> opinion (V6);
    ``stances``: person_id -> choice for non-secret ballots.  A secret ballot never gives
    a stance (V8), whatever is passed.
    """
    lines = []
    for pid in sorted(electorate):
        e = electorate[pid]
        has_voted = pid in voted
        lines.append({
            "person_id": pid,
            "presence": e.presence,
            "voted": has_voted,
            "stance": None if (secret or not has_voted) else stances.get(pid),
            "reserved_opinion": reserved.get(pid) if has_voted else None,
            "written_opinion": e.written_opinion,
        })
    return lines
