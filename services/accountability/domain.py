"""Accountability rules in plain Python (no nameko, no HTTP, no database).

C1: every decision is linked to every group member, with presence, stance and
    opinions; members on leave or absent are linked but bear no responsibility.
C2: links are never deleted; a person's record spans organizations and years.
C3: for a decision judged a major error, who may be exempted and who is
    responsible.
"""
from shared.errors import Forbidden, ValidationFailed

PRESENCES = ("present", "leave", "absent")
STANCES = ("yes", "no", "abstain")
METHODS = ("oral", "show_of_hands", "named", "secret")
OUTCOMES = ("passed", "failed", "deferred")

# C3 proposals
RESPONSIBLE = "responsible"
MAY_BE_EXEMPTED = "may_be_exempted"
NOT_PARTICIPANT = "not_participant"

# C2: roles that read a person's record in every organization
CROSS_ORG_RECORD_ROLES = ("org_department", "discipline_commission")
# C2: roles that read a person's record within their own organization
ORG_RECORD_ROLES = ("discipline", "secretary")


def _text(value):
    """An opinion counts only when it says something."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def links_from_result(data):
    """C1: one responsibility link per group member of a decided result.

    ``data`` is a validated ``voting.result_decided`` payload.  Returns a list of
    dicts (person_id, presence, stance, voted, reserved_opinion, written_opinion,
    participant).  A secret ballot gives no stance (V8): any stance is dropped
    here so none is ever stored.  A member on leave or absent is not a
    participant (C1: "absent with leave" bears no responsibility) and cannot
    carry a vote; such a payload is refused.
    """
    secret = data["method"] == "secret"
    seen = set()
    links = []
    for i, member in enumerate(data["members"]):
        pid = member["person_id"]
        if pid in seen:
            raise ValidationFailed(f"C1: members.{i}.person_id: {pid!r} is listed twice",
                                   field=f"members.{i}.person_id", rule="C1")
        seen.add(pid)
        presence = member["presence"]
        if presence not in PRESENCES:
            raise ValidationFailed(f"C1: members.{i}.presence: must be one of {', '.join(PRESENCES)}",
                                   field=f"members.{i}.presence", rule="C1")
        participant = presence == "present"
        stance = member.get("stance")
        voted = bool(member.get("voted"))
        if not participant and (voted or stance is not None):
            raise ValidationFailed(f"C1: members.{i}: a member who is {presence} cannot have voted",
                                   field=f"members.{i}.stance", rule="C1")
        if stance is not None and stance not in STANCES:
            raise ValidationFailed(f"C1: members.{i}.stance: must be one of {', '.join(STANCES)}",
                                   field=f"members.{i}.stance", rule="C1")
        links.append({
            "person_id": pid,
            "presence": presence,
            "stance": None if secret else stance,
            "voted": voted,
            "reserved_opinion": _text(member.get("reserved_opinion")),
            "written_opinion": _text(member.get("written_opinion")),
            "participant": participant,
        })
    return links


def stance_label(link, method):
    """C1: the stance as shown: yes / no / abstain, "unknown" for a participant of a
    secret ballot, None when the member took no part or cast no vote."""
    if not link["participant"]:
        return None
    if method == "secret":
        return "unknown"
    return link["stance"]


def proposed_responsibility(link, method):
    """C3: the proposed responsibility of one linked member if the decision is
    judged a major error -> {"proposal", "rule", "note"}.

    - on leave or absent: not a participant, bears no responsibility (C1);
    - explicit "no" or a recorded reserved opinion: may be exempted or have
      responsibility reduced;
    - secret ballot: no stance is known, so only a reserved opinion counts;
    - "yes": responsible;
    - abstention: responsible, an abstention is not explicit opposition.
    """
    if not link["participant"]:
        return {"proposal": NOT_PARTICIPANT, "rule": "C1",
                "note": f"{link['presence']}: absent with leave bears no responsibility"}
    reserved = _text(link.get("reserved_opinion"))
    if method == "secret":
        if reserved:
            return {"proposal": MAY_BE_EXEMPTED, "rule": "C3", "note": "reserved opinion recorded"}
        return {"proposal": RESPONSIBLE, "rule": "C3",
                "note": "secret ballot gives no stance; only a reserved opinion counts"}
    stance = link.get("stance")
    if stance == "no":
        return {"proposal": MAY_BE_EXEMPTED, "rule": "C3", "note": "explicitly voted no"}
    if reserved:
        return {"proposal": MAY_BE_EXEMPTED, "rule": "C3", "note": "reserved opinion recorded"}
    if stance == "yes":
        return {"proposal": RESPONSIBLE, "rule": "C3", "note": "voted yes"}
    if stance == "abstain":
        return {"proposal": RESPONSIBLE, "rule": "C3", "note": "abstention is not explicit opposition"}
    return {"proposal": RESPONSIBLE, "rule": "C3", "note": "present without explicit opposition"}


def record_scope(actor, person_id):
    """C2: whose record an actor may read, and how far.

    Returns None for every organization (the person themself, a cross-org role,
    the system), or the actor's org_id when the actor may read only records made
    in their own organization (discipline inspectors, the secretary).  Anyone
    else is refused.
    """
    if actor.person_id == person_id or actor.has(*CROSS_ORG_RECORD_ROLES):
        return None
    if actor.org_id and any(r in actor.roles for r in ORG_RECORD_ROLES):
        return actor.org_id
    raise Forbidden("C2: a person's record is for the person, discipline inspectors, "
                    "the secretary, or the organization department and discipline commission",
                    field="actor.roles", rule="C2")


def check_page(limit, offset, max_limit=200):
    """Paging arguments of a query: 1 ≤ limit ≤ max_limit, offset ≥ 0."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise ValidationFailed(f"limit: must be an integer from 1 to {max_limit}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("offset: must be an integer of at least 0", field="offset")
