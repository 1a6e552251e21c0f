"""Voting rules in plain Python (no nameko, no HTTP, no database).

Each check raises a typed error naming its rule (docs/rules.md); the service layer calls
them before it writes anything, so a refused action changes nothing.
"""
import datetime as dt
from dataclasses import dataclass, replace

from shared.errors import Conflict, NotFound, RuleViolation, ValidationFailed
# §二, M8, V3: the group roles, the quorum and the pass line, the same in every service
from shared.group_rules import GROUP_ROLES, outcome, quorum_required, threshold  # noqa: F401

METHODS = ("oral", "show_of_hands", "named", "secret")          # V2
CHOICES = ("yes", "no", "abstain")                               # V2
OUTCOMES = ("passed", "failed", "deferred")                      # V9
PRESENCES = ("present", "leave", "absent")
OPEN, CLOSED, LAPSED = "open", "closed", "lapsed"      # lapsed: its meeting closed first (V1)
MEETING_OPENED = "opened"                                        # meetings' status of a meeting in session
OPINION_MAX = 5000
REASON_MAX = 2000
RECORDING_METHODS = ("oral", "show_of_hands")                    # V2: the chair may record these
RECORDERS = ("confidential_secretary",)                         # V2: besides the meeting's chair
PERSONNEL = "personnel"                                          # V4: one candidate per ballot
MAJOR_CATEGORIES = ("major_decision", "personnel")               # V5: serious-disagreement check
DEFAULT_DISAGREEMENT_RATIO = "1/3"                               # V5: "one third of those voting"
IN_FORCE, SUPERSEDED = "in_force", "superseded"                  # V7
DEFERRED, NOT_ADOPTED = "deferred", "not_adopted"                # V5, V7: not in force
DECISION_STATUSES = (IN_FORCE, SUPERSEDED, DEFERRED, NOT_ADOPTED)
POLICY_ROLES = ("secretary", "admin")                            # V5: who sets the ratio
UNANIMOUS_SECRET = "V8: unanimous secret ballot reveals every vote"


@dataclass(frozen=True)
class Elector:
    """One group member as the ballot's attendance snapshot saw them."""
    person_id: str
    role: str
    presence: str
    written_opinion: str | None = None
    recused: bool = False                  # V4 回避: the item's candidate, or declared a conflict

    @property
    def may_vote(self):
        """V1: a group member who is present; V4: and not recused for this item."""
        return self.presence == "present" and self.role in GROUP_ROLES and not self.recused


# ---------------------------------------------------------------- arithmetic (V3, M8)

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


# ---------------------------------------------------------------- V4 recusal (回避)

def recused_members(electorate, candidate, declared):
    """V4 回避 (the cadre selection rules §三(二) cites): the group members recused for an item —
    the item's candidate when a member, and every member who declared a conflict of interest."""
    return sorted(pid for pid, e in electorate.items()
                  if e.role in GROUP_ROLES and (pid == candidate or pid in declared))


def with_recusals(electorate, recused):
    return {pid: replace(e, recused=True) if pid in recused else e for pid, e in electorate.items()}


def item_figures(n, electorate):
    """V3, V4, M8 with recusals -> (N of the item, present for the item).

    A recused member takes no part in the item: they are not among those who should attend
    it (应到会) nor among those present for it.  So the item's N is the group's N minus the
    recused members, its "present" counts the members present and not recused, the quorum
    at the ballot is two thirds of the item's N (M8), and the ballot passes with more than
    half of the item's N voting yes (V3).  Without recusals both equal the meeting's figures.
    """
    recused = sum(1 for e in electorate.values() if e.recused)
    present = sum(1 for e in electorate.values() if e.presence == "present" and not e.recused)
    return n - recused, present


def check_declaration(is_group_member, reason, declared, voted, counts_recorded=False):
    """V4 回避: a group member of the meeting declares a conflict of interest on an item, once,
    before voting on it; returns the cleaned reason."""
    if not is_group_member:
        raise RuleViolation("V4: only a group member of this meeting declares a conflict of interest on its items",
                            field="actor", rule="V4")
    reason = clean_reason(reason, "reason")
    if not reason:
        raise ValidationFailed("reason: say what the conflict of interest is", field="reason", rule="V4")
    if declared:
        raise Conflict("V4: your conflict of interest on this item is already declared", field="topic_id", rule="V4")
    if voted or counts_recorded:
        raise Conflict("V4: a conflict of interest is declared before voting; the vote on this item is already "
                       + ("cast" if voted else "recorded"), field="topic_id", rule="V4")
    return reason


def check_open(actor_person_id, actor_roles, chair_person_id, method, n, electorate, open_ballot_id):
    """Open a ballot: only the chair (M1), a known method (V2), one open ballot per item (V4),
    and the quorum holds again now (M8), counted on the item's N and present (V4 recusals,
    ``item_figures``)."""
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
    n_item, present = item_figures(n, electorate)
    if n_item < 1:
        raise RuleViolation("V4: every group member is recused for this item; the group cannot decide it",
                            field="topic_id", rule="V4")
    needed = quorum_required(n_item)
    recused = f" (not counting {n - n_item} recused)" if n_item != n else ""
    if present < needed:
        raise RuleViolation(f"M8: quorum not reached when the ballot opens: {present} of {n_item} group members "
                            f"present{recused}, at least {needed} (two thirds) needed", field="present", rule="M8")
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


def check_can_vote(elector, status, already_voted, choice, counts_recorded=False):
    """V9: a closed ballot takes no vote; V1: only present group members, once per ballot;
    V2: once the chair recorded the counts of an oral / show-of-hands vote, nobody votes again."""
    if status != OPEN:
        raise Conflict("V9: the ballot is closed; its result is final", field="ballot_id", rule="V9")
    if counts_recorded:
        raise Conflict("V2: the counts of this ballot were recorded by the chair; no further vote is taken",
                       field="ballot_id", rule="V2")
    if choice not in CHOICES:
        raise ValidationFailed(f"choice: must be one of {', '.join(CHOICES)}", field="choice", rule="V2")
    if elector is None:
        raise RuleViolation("V1: only group members present at the meeting may vote; "
                            "you are not a group member of this meeting", field="actor", rule="V1")
    if elector.presence == "leave":
        raise RuleViolation("V1: a member on leave cannot vote (their written opinion is recorded instead, M9)",
                            field="actor", rule="V1")
    if elector.recused:
        raise RuleViolation("V4: you are recused (回避) from this item — its candidate or a declared conflict of "
                            "interest — and do not vote on it", field="actor", rule="V4")
    if not elector.may_vote:
        raise RuleViolation("V1: only group members present at the meeting may vote", field="actor", rule="V1")
    if already_voted:
        raise Conflict("V1: one person, one vote: you have already voted on this ballot",
                       field="actor", rule="V1")


def check_in_session(meeting_status, presence=None, voter=True, field="actor"):
    """V1, M8 (invariant I3): ballots live inside an open meeting.  Votes, records and closes are
    taken only while the meeting is open; a vote only from a member present at that moment
    (one recorded as departed, on leave or absent is refused).  ``meeting_status`` and
    ``presence`` are meetings' answer now, not the ballot's snapshot at opening."""
    if meeting_status != MEETING_OPENED:
        raise RuleViolation(f"V1: the meeting is {meeting_status or 'not open'}; ballots are voted and closed "
                            "only while their meeting is open", field="meeting_id", rule="V1")
    if voter and presence != "present":
        now = {"absent": "recorded absent or departed", "leave": "on leave"}.get(presence, "not attending")
        raise RuleViolation(f"V1: only members present at this moment vote; {'you are' if field == 'actor' else 'the member is'} "
                            f"{now}", field=field, rule="V1")


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


def member_lines(electorate, voted, reserved, stances, secret, recorded_by=None):
    """Per group member of the snapshot, sorted by person_id (the result_decided ``members``).

    ``voted``: person ids on the participation roll; ``reserved``: person_id -> opinion (V6),
    given at the vote or recorded after the decision, kept for present members only;
    ``stances``: person_id -> choice for non-secret ballots; ``recorded_by``: person_id ->
    who recorded that member's vote (V2), absent when the member cast it.  A secret ballot
    never gives a stance nor a recorder (V8), whatever is passed.  When only the counts of
    an oral / show-of-hands vote were recorded (V2), nobody is on the roll: every member
    shows ``voted`` false and ``stance`` null — the counts are on the decision.
    """
    recorded_by = {} if (secret or recorded_by is None) else recorded_by
    lines = []
    for pid in sorted(electorate):
        e = electorate[pid]
        has_voted = pid in voted
        lines.append({
            "person_id": pid,
            "presence": e.presence,
            "voted": has_voted,
            "stance": None if (secret or not has_voted) else stances.get(pid),
            "reserved_opinion": reserved.get(pid) if e.presence == "present" and not e.recused else None,
            "written_opinion": e.written_opinion,
            "recorded_by": recorded_by.get(pid) if has_voted else None,
            "recused": e.recused,                                        # V4 回避: took no part in the item
        })
    return lines


# ---------------------------------------------------------------- V2 recording by the chair

def check_recorder(actor_person_id, actor_roles, chair_person_id, method, status):
    """V2: an oral or show-of-hands vote may be recorded by the meeting's chair or a
    confidential secretary of the organization (the caller checks the organization)."""
    if status != OPEN:
        raise Conflict("V9: the ballot is closed; its result is final", field="ballot_id", rule="V9")
    if method not in RECORDING_METHODS:
        raise RuleViolation(f"V2: votes are recorded by the chair only for oral and show-of-hands ballots; "
                            f"on a {method} ballot each member casts their own vote", field="method", rule="V2")
    if actor_person_id != chair_person_id and not any(r in actor_roles for r in RECORDERS + ("system",)):
        raise RuleViolation("V2: only the meeting's chair or a confidential secretary records votes",
                            field="actor", rule="V2")


def check_record_choices(electorate, already_voted, choices, counts_recorded):
    """V2 + V1: each recorded person is a present group member who has not voted yet.

    ``choices``: person_id -> choice.  All or nothing: the first refusal names the person.
    """
    if counts_recorded:
        raise Conflict("V2: the counts of this ballot were already recorded; per-person votes cannot be added",
                       field="choices", rule="V2")
    if not choices:
        raise ValidationFailed("choices: name at least one member and their choice", field="choices", rule="V2")
    for pid in sorted(choices):
        field = f"choices.{pid}"
        if choices[pid] not in CHOICES:
            raise ValidationFailed(f"{field}: must be one of {', '.join(CHOICES)}", field=field, rule="V2")
        elector = electorate.get(pid)
        if elector is not None and elector.recused:
            raise RuleViolation(f"V4: {pid} is recused (回避) from this item and does not vote on it",
                                field=field, rule="V4")
        if elector is None or not elector.may_vote:
            why = ("is not a group member of this meeting" if elector is None or elector.role not in GROUP_ROLES
                   else f"is {elector.presence}")
            raise RuleViolation(f"V1: only group members present may vote; {pid} {why}", field=field, rule="V1")
        if pid in already_voted:
            raise Conflict(f"V1: one person, one vote: {pid} has already voted on this ballot", field=field,
                           rule="V1")


def check_record_counts(counts, present, votes_cast, counts_recorded):
    """V2: the organization may record only the counts; they cannot exceed the members present (V1)
    and replace per-person voting for the whole ballot."""
    if counts_recorded:
        raise Conflict("V2: the counts of this ballot were already recorded", field="counts", rule="V2")
    if votes_cast:
        raise Conflict(f"V2: {votes_cast} vote(s) were already cast one by one; counts cannot be recorded "
                       "on top of them", field="counts", rule="V2")
    for c in CHOICES:
        if not isinstance(counts.get(c), int) or isinstance(counts.get(c), bool) or counts[c] < 0:
            raise ValidationFailed(f"counts.{c}: a whole number, zero or more", field=f"counts.{c}", rule="V2")
    total = sum(counts[c] for c in CHOICES)
    if total > present:
        raise RuleViolation(f"V1: {total} votes recorded but only {present} group members are present",
                            field="counts", rule="V1")
    if total == 0:
        raise ValidationFailed("counts: at least one vote must be recorded", field="counts", rule="V2")


# ---------------------------------------------------------------- V4 one candidate per personnel ballot

def check_candidates(category, candidates, item_candidate=None):
    """V4: a personnel item names exactly one candidate; a bundled vote on several is refused.
    Other items name none.  Returns the candidate's person id or None.

    ``item_candidate``: the candidate the agenda item itself names (meetings' snapshot).  When the
    item names one, the ballot's candidate is that person: a request may repeat it or omit it,
    and a request naming anyone else is refused (invariant I4)."""
    distinct = sorted(set(candidates or ()))
    if category == PERSONNEL and item_candidate:
        if len(distinct) > 1:
            raise RuleViolation(f"V4: a bundled vote on several candidates is refused ({len(distinct)} named); "
                                "each candidate gets their own agenda item and ballot",
                                field="candidates", rule="V4")
        if distinct and distinct[0] != item_candidate:
            raise RuleViolation(f"V4: the candidate of a ballot is the candidate of its item ({item_candidate}); "
                                f"{distinct[0]} is not", field="candidates", rule="V4")
        return item_candidate
    if category == PERSONNEL:
        if len(distinct) > 1:
            raise RuleViolation(f"V4: a bundled vote on several candidates is refused ({len(distinct)} named); "
                                "each candidate gets their own agenda item and ballot",
                                field="candidates", rule="V4")
        if not distinct:
            raise ValidationFailed("candidates: a personnel ballot names its one candidate",
                                   field="candidates", rule="V4")
        return distinct[0]
    if distinct:
        raise ValidationFailed(f"candidates: only a personnel item has a candidate; this item is a {category} item",
                               field="candidates", rule="V4")
    return None


# ---------------------------------------------------------------- V5 disagreement, deferral, re-vote

def parse_ratio(text):
    """V5: a ratio "a/b" with 0 < a/b <= 1 -> (a, b)."""
    parts = str(text).strip().split("/") if text is not None else []
    try:
        num, den = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (None, None)
    except ValueError:
        num = den = None
    if num is None or den is None or not (0 < num <= den <= 1000):
        raise ValidationFailed('disagreement_ratio: a fraction "a/b" between 0 (excluded) and 1, e.g. "1/3"',
                               field="disagreement_ratio", rule="V5")
    return num, den


def serious_disagreement(counts, ratio=DEFAULT_DISAGREEMENT_RATIO):
    """V5: no + abstain reach the ratio (default one third) of the votes cast."""
    num, den = parse_ratio(ratio)
    cast = sum(counts[c] for c in CHOICES)
    return cast > 0 and (counts["no"] + counts["abstain"]) * den >= num * cast


def check_disagreement(category, emergency, counts, ratio, confirm_reason):
    """V5: on a major item (major decision, personnel) with serious disagreement the chair defers
    or confirms with a recorded reason; in an emergency meeting the majority decides at once.

    Returns ``(serious, reason kept)``.
    """
    confirm_reason = clean_reason(confirm_reason, "confirm_reason")
    if category not in MAJOR_CATEGORIES or not serious_disagreement(counts, ratio):
        return False, confirm_reason
    if emergency or confirm_reason:
        return True, confirm_reason
    cast = sum(counts[c] for c in CHOICES)
    raise RuleViolation(f"V5: serious disagreement: defer, or confirm with a recorded reason "
                        f"(no {counts['no']} + abstain {counts['abstain']} of {cast} votes reach {ratio})",
                        field="confirm_reason", rule="V5")


def clean_reason(text, field):
    if text is None:
        return None
    text = str(text).strip()
    if len(text) > REASON_MAX:
        raise ValidationFailed(f"{field}: at most {REASON_MAX} characters", field=field, rule="V5")
    return text or None


def check_defer(actor_person_id, actor_roles, chair_person_id, status, reason):
    """V5: the chair may defer any open ballot, saying why; returns the reason."""
    check_close(actor_person_id, actor_roles, chair_person_id, status)
    reason = clean_reason(reason, "reason")
    if not reason:
        raise ValidationFailed("reason: say why the vote is deferred", field="reason", rule="V5")
    return reason


def check_revote(actor_org_id, previous, meeting_id=None, category=None):
    """V5 (复议表决): a new ballot may follow a deferred one of the same organization, once,
    on the same kind of item, and only at a later meeting than the one that deferred it.

    ``previous``: None when not found, else a dict with org_id, outcome, followed_by and
    (when known) meeting_id, category.
    """
    if previous is None or previous["org_id"] != actor_org_id:
        raise NotFound("previous_ballot_id: no such ballot", field="previous_ballot_id")
    if previous["outcome"] != "deferred":
        raise RuleViolation("V5: only a deferred ballot is voted again; this one "
                            + ("is still open" if previous["outcome"] is None else f"was {previous['outcome']}"),
                            field="previous_ballot_id", rule="V5")
    if previous["followed_by"]:
        raise Conflict(f"V5: the deferred ballot was already voted again (ballot {previous['followed_by']})",
                       field="previous_ballot_id", rule="V5")
    if meeting_id is not None and previous.get("meeting_id") == meeting_id:
        raise RuleViolation("V5: a deferred item is voted again only at a later meeting, after more research; "
                            "not at the meeting that deferred it", field="previous_ballot_id", rule="V5")
    if category is not None and previous.get("category") not in (None, category):
        raise RuleViolation(f"V5: the re-vote is on the same matter; the deferred ballot was a "
                            f"{previous['category']} item, this one is a {category} item",
                            field="previous_ballot_id", rule="V5")


def in_force(outcome_, superseded_by, reconsideration=False):
    """V5, V7 (I2): a decision is in force when it decided (passed or failed), nothing superseded it,
    and it is not a reconsideration that failed (then the reconsidered decision stays in force)."""
    if outcome_ not in ("passed", "failed") or superseded_by:
        return False
    return not (reconsideration and outcome_ != "passed")


def check_item_open(meeting_id, item_decisions, reconsiders_id=None):
    """V5, V7, V9 (invariant I2): may a ballot open on this agenda item now?

    ``item_decisions``: every decision on the item, dicts with decision_id, meeting_id, outcome,
    superseded_by, reconsidered_decision_id.  A decided item (passed or failed, in force) is voted
    again only by an approved reconsideration of that very decision (V7); an item deferred at this
    meeting is voted again only at a later one (V5).  At most one decision on an item is in force.
    """
    for d in item_decisions:
        if in_force(d["outcome"], d["superseded_by"], bool(d.get("reconsidered_decision_id"))) \
                and d["decision_id"] != reconsiders_id:
            raise RuleViolation(f"V7: this item was already decided ({d['outcome']}, decision {d['decision_id']}); "
                                "it is voted again only by a reconsideration the secretary approves",
                                field="topic_id", rule="V7")
    if reconsiders_id is None and any(d["outcome"] == "deferred" and d["meeting_id"] == meeting_id
                                      for d in item_decisions):
        raise RuleViolation("V5: this item was deferred at this meeting for more research; "
                            "it is voted again only at a later meeting", field="topic_id", rule="V5")


# ---------------------------------------------------------------- V6 reserved opinion after the decision

def check_reserved_opinion(elector, outcome_, existing, text):
    """V6: a group member present at the ballot may record a reserved opinion on its decision, once;
    returns the cleaned text."""
    if elector is None or not elector.may_vote:
        raise RuleViolation("V6: only a group member present at the ballot records a reserved opinion on it",
                            field="actor", rule="V6")
    if outcome_ == "deferred":
        raise RuleViolation("V6: a deferred ballot decided nothing to reserve an opinion on",
                            field="decision_id", rule="V6")
    if existing:
        raise Conflict("V6: your reserved opinion on this decision is already recorded", field="text", rule="V6")
    opinion = clean_opinion(text)
    if not opinion:
        raise ValidationFailed("text: the reserved opinion is empty", field="text", rule="V6")
    return opinion


def opinion_window_days(value):
    """V6: the configured window in whole days (``RESERVED_OPINION_WINDOW_DAYS``), or None for the
    default window: until the meeting's minutes are approved."""
    if value in (None, ""):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"RESERVED_OPINION_WINDOW_DAYS must be a whole number of days, not {value!r}") from None
    if days < 1:
        raise ValueError("RESERVED_OPINION_WINDOW_DAYS must be at least 1")
    return days


def check_opinion_window(decided_at, now, minutes_approved_at=None, days=None):
    """V6: a reserved opinion after the decision is recorded within a window — by default until the
    minutes of the meeting that decided are approved (M10, they then record the decision for good);
    with a configured number of days, until that many days after the decision."""
    if days is not None:
        closes = decided_at + dt.timedelta(days=days)
        if now > closes:
            raise RuleViolation(f"V6: reserved opinions on this decision were accepted for {days} day(s), until "
                                f"{closes.isoformat()}", field="decision_id", rule="V6")
    elif minutes_approved_at is not None:
        raise RuleViolation(f"V6: reserved opinions on this decision closed when the meeting's minutes were approved "
                            f"({minutes_approved_at.isoformat()})", field="decision_id", rule="V6")


# ---------------------------------------------------------------- V7 reconsideration

def check_reconsideration(actor_roles, approved_by_secretary, decision, reason):
    """V7: with the secretary's approval, a decision in force is reconsidered.

    ``decision``: dict with outcome, superseded_by, open_reconsideration (ballot id or None).
    """
    if "secretary" not in actor_roles and "system" not in actor_roles:
        raise RuleViolation("V7: a decision is reconsidered only with the secretary's approval; "
                            "the secretary opens the reconsideration", field="actor", rule="V7")
    if approved_by_secretary is not True:
        raise RuleViolation("V7: the secretary's approval must be given (approved_by_secretary: true)",
                            field="approved_by_secretary", rule="V7")
    reason = clean_reason(reason, "reason")
    if not reason:
        raise ValidationFailed("reason: name the new circumstances that call for reconsideration",
                               field="reason", rule="V7")
    if decision["superseded_by"]:
        raise RuleViolation(f"V7: the decision was already superseded by {decision['superseded_by']}",
                            field="decision_id", rule="V7")
    if decision["outcome"] != "passed":
        raise RuleViolation(f"V7: only a decision in force is reconsidered; this ballot {decision['outcome']}",
                            field="decision_id", rule="V7")
    if decision["open_reconsideration"]:
        raise Conflict(f"V7: ballot {decision['open_reconsideration']} already reconsiders this decision",
                       field="decision_id", rule="V7")
    return reason


def decision_status(superseded_by, outcome_="passed", reconsideration=False):
    """V5, V7: a decision stays in force until a reconsideration passes (then "superseded", naming
    its successor); a deferral decided nothing ("deferred"); a failed or deferred reconsideration
    leaves the reconsidered decision in force ("not_adopted")."""
    if superseded_by:
        return SUPERSEDED
    if in_force(outcome_, superseded_by, reconsideration):
        return IN_FORCE
    return NOT_ADOPTED if reconsideration else DEFERRED


# ---------------------------------------------------------------- V8 warnings

def secrecy_warnings(method, counts):
    """V8: a unanimous secret ballot tells everyone how each voter voted."""
    cast = sum(counts[c] for c in CHOICES)
    if method == "secret" and cast > 0 and max(counts[c] for c in CHOICES) == cast:
        return [UNANIMOUS_SECRET]
    return []


# ---------------------------------------------------------------- the Ballot aggregate

class Ballot:
    """One ballot on one agenda item as an aggregate: its state changes only through these methods,
    each checking the rules above (the same functions the service calls) and returning the domain
    events it raises as ``(event_type, data)``.  Nothing here stores anything.

    ``item``: dict with topic_id, category, candidate_person_id (may be None), title.
    ``item_decisions``: the decisions already taken on the item (``check_item_open``'s shape).
    """

    def __init__(self, ballot_id, meeting_id, item, method, chair_person_id, n, present, electorate,
                 candidate, emergency=False, reconsiders_id=None, ratio=DEFAULT_DISAGREEMENT_RATIO):
        self.ballot_id, self.meeting_id, self.item, self.method = ballot_id, meeting_id, item, method
        self.chair_person_id, self.n, self.present, self.electorate = chair_person_id, n, present, electorate
        self.candidate, self.emergency, self.reconsiders_id, self.ratio = candidate, emergency, reconsiders_id, ratio
        self.status = OPEN
        self.choices = {}                   # person_id -> choice (the aggregate's view; V8 is the storage's job)
        self.decision = None

    @classmethod
    def open(cls, ballot_id, actor_person_id, actor_roles, meeting, item, method, n, electorate, candidates=None,
             declared=(), item_decisions=(), open_ballot_id=None, reconsiders_id=None):
        """``meeting``: dict with meeting_id, status, chair_person_id, emergency.  ``electorate``: the
        snapshot's {person_id: Elector}.  -> (Ballot, events)."""
        check_in_session(meeting["status"], voter=False)
        candidate = check_candidates(item["category"], candidates, item.get("candidate_person_id"))
        electorate = with_recusals(electorate, recused_members(electorate, candidate, set(declared)))
        present = check_open(actor_person_id, actor_roles, meeting["chair_person_id"], method, n, electorate,
                             open_ballot_id)
        check_item_open(meeting["meeting_id"], list(item_decisions), reconsiders_id)
        n_item, _ = item_figures(n, electorate)
        ballot = cls(ballot_id, meeting["meeting_id"], item, method, meeting["chair_person_id"], n_item, present,
                     electorate, candidate, bool(meeting.get("emergency")), reconsiders_id)
        return ballot, [("ballot_opened", {
            "ballot_id": ballot_id, "meeting_id": ballot.meeting_id, "agenda_item_id": item["topic_id"],
            "n": n_item, "present": present, "method": method,
            "eligible": sorted(pid for pid, e in electorate.items() if e.may_vote),
            "recused": sorted(pid for pid, e in electorate.items() if e.recused)})]

    def cast(self, person_id, choice, meeting_status, presence_now):
        """V1, M8, V4: a vote from a member present at this moment, in an open meeting, once."""
        check_in_session(meeting_status, presence_now)
        check_can_vote(self.electorate.get(person_id), self.status, person_id in self.choices, choice)
        self.choices[person_id] = choice
        return []

    def close(self, decision_id, actor_person_id, actor_roles, meeting_status, confirm_reason=None, defer_reason=None):
        """V9, V3, V5, V7: the decision (a dict) and its events."""
        check_in_session(meeting_status, voter=False)
        if defer_reason is not None:
            defer_reason = check_defer(actor_person_id, actor_roles, self.chair_person_id, self.status, defer_reason)
        else:
            check_close(actor_person_id, actor_roles, self.chair_person_id, self.status)
        counts = tally(self.choices.values())
        figures = decide(counts, self.n, self.present)
        serious = False
        if defer_reason is not None:
            figures["outcome"] = "deferred"
        else:
            serious, confirm_reason = check_disagreement(self.item["category"], self.emergency, counts, self.ratio,
                                                         confirm_reason)
        self.status = CLOSED
        self.decision = dict(
            figures, decision_id=decision_id, ballot_id=self.ballot_id, meeting_id=self.meeting_id,
            agenda_item_id=self.item["topic_id"], category=self.item["category"],
            candidate_person_id=self.candidate, reconsidered_decision_id=self.reconsiders_id,
            superseded_decision_id=self.reconsiders_id if figures["outcome"] == "passed" else None,
            superseded_by=None, serious_disagreement=serious, confirm_reason=confirm_reason,
            deferred_reason=defer_reason, voters=sorted(self.choices),
            recused=sorted(pid for pid, e in self.electorate.items() if e.recused))
        events = [("ballot_closed", {"ballot_id": self.ballot_id, "decision_id": decision_id,
                                     "outcome": figures["outcome"]}),
                  ("result_decided", dict(self.decision))]
        if self.decision["superseded_decision_id"]:
            events.append(("decision_superseded", {"decision_id": self.reconsiders_id,
                                                   "superseded_by": decision_id, "ballot_id": self.ballot_id}))
        return self.decision, events

    def lapse(self):
        """V1 backstop: the meeting closed with this ballot open: no decision."""
        if self.status != OPEN:
            return []
        self.status = LAPSED
        return [("ballot_lapsed", {"ballot_id": self.ballot_id, "meeting_id": self.meeting_id,
                                   "agenda_item_id": self.item["topic_id"], "votes_cast": len(self.choices)})]


def supersede(item_decisions, decision):
    """V7: a passing reconsideration supersedes the decision it reconsidered, which names its successor."""
    for d in item_decisions:
        if decision.get("superseded_decision_id") == d["decision_id"] and d["superseded_by"] is None:
            d["superseded_by"] = decision["decision_id"]
    item_decisions.append(decision)
    return item_decisions
