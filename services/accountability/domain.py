"""Accountability rules in plain Python (no nameko, no HTTP, no database).

C1: every decision is linked to every group member, with presence, stance and
    opinions; members on leave or absent are linked but bear no responsibility.
C2: links are never deleted; a person's record spans organizations and years.
C3: for a decision judged a major error, who may be exempted and who is
    responsible.
C4: cases under the eight triggers of §五(二), outcomes from the ladder of §五(三).
C5: implementation tracking (§三(七), §三(十一), §三(十二)), red/yellow/green.
C6: duty reports and the annual comprehensive report (§五(一), §二(二)).
C7: who reads and acknowledges compliance alerts (the checks are in ``compliance``).
"""
from shared.errors import Forbidden, RuleViolation, ValidationFailed
from shared.merkle import verify_consistency

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



# ================================================================== time

DEFAULT_TZ = "Asia/Shanghai"   # ARCHITECTURE §Time: store UTC, reckon days in the organization's zone


def local_date(instant, tz=DEFAULT_TZ):
    """The calendar date of an instant in the organization's time zone."""
    from zoneinfo import ZoneInfo

    from shared.clock import as_utc
    return as_utc(instant).astimezone(ZoneInfo(tz)).date()


# ================================================================== C4 cases

# §五(二)1–8: the eight triggers of accountability
TRIGGERS = {
    1: ("policy_not_executed", "贯彻执行党的理论和路线方针政策和上级部门的指示和决定不及时不得力"),
    2: ("decision_error", "因违反决策程序或者决策失误造成重大损失或者恶劣影响"),
    3: ("cadre_selection_problem", "干部选拔任用方面出现重大问题"),
    4: ("party_building_weakened", "不认真履行从严治党责任，造成本单位党组织软弱涣散、党建工作削弱"),
    5: ("clean_governance_failure", "不履行党风廉政建设主体责任，造成严重后果"),
    6: ("unauthorized_publication", "擅自公开发表或者出版违背中央精神和党组决定的讲话、报告、文章、著作或言论"),
    7: ("confidentiality_breach", "泄露应当保密的会议内容和讨论情况"),
    8: ("other_serious_consequence", "对其他造成严重后果或者恶劣社会影响的行为负有责任"),
}

# §五(三): the ladder of outcomes, lightest first
LADDER = ("criticism_education", "ordered_self_examination", "admonishment_talk", "circulated_criticism",
          "transfer", "ordered_resignation", "removal", "demotion",
          "party_discipline", "administrative_discipline", "referral")
EXEMPTED = "exempted"          # C3: explicit opposition or a reserved opinion
NO_ACTION = "no_action"        # C1: not a participant, or the inspectors find no responsibility
CASE_OUTCOMES = LADDER + (EXEMPTED, NO_ACTION)

CASE_ROLES = ("discipline",)                                   # C4: who opens and concludes cases
CASE_READ_ROLES = ("discipline", "discipline_commission", "org_department")
SUBJECT = "subject"                                            # the member a person case concerns


def trigger_view(code):
    name, text = TRIGGERS[code]
    return {"code": code, "name": name, "text": text}


def check_trigger(code):
    if isinstance(code, bool) or not isinstance(code, int) or code not in TRIGGERS:
        raise ValidationFailed("C4: trigger: must be a code from 1 to 8 (§五(二))", field="trigger", rule="C4")
    return code


def check_case_subject(data):
    """C4: a case is on a decision or on a member, exactly one of them."""
    if bool(data.get("decision_id")) == bool(data.get("person_id")):
        raise ValidationFailed("C4: decision_id or person_id: a case concerns one decision or one member",
                               field="decision_id", rule="C4")
    if data.get("major_error") and not data.get("decision_id"):
        raise ValidationFailed("C3: major_error: only a decision can be judged a major error",
                               field="major_error", rule="C3")
    if data.get("group_broke_rules") and not data.get("secretary_person_id"):
        raise ValidationFailed("C3: secretary_person_id: when the group broke the rules the secretary "
                               "is also responsible; name them", field="secretary_person_id", rule="C3")


def case_proposals(links, method, major_error, group_broke_rules=False, secretary_person_id=None,
                   person_id=None):
    """C3/C4: the proposed responsibility of each person a case concerns.

    - a case on a member: that member is the subject;
    - a case on a decision judged a major error: each linked member by C3
      (``proposed_responsibility``: yes and abstain responsible, explicit no or
      reserved opinion may be exempted, secret ballot only a reserved opinion
      counts, on leave not a participant);
    - a case on a decision not (yet) judged a major error: no one is proposed;
    - the group as a whole broke the rules: the secretary is also responsible
      (§五(二), last paragraph), whatever their own vote.
    Returns {person_id: {"proposal", "rule", "note"}}.
    """
    if person_id:
        proposals = {person_id: {"proposal": SUBJECT, "rule": "C4", "note": "the member the case concerns"}}
    elif major_error:
        proposals = {link["person_id"]: proposed_responsibility(link, method) for link in links}
    else:
        proposals = {}
    if group_broke_rules and secretary_person_id:
        proposals[secretary_person_id] = {
            "proposal": RESPONSIBLE, "rule": "C3",
            "note": "the group as a whole broke the work rules: the secretary is also responsible"}
    return proposals


def normalize_outcomes(outcomes, proposals):
    """C4 §五(三): each outcome is a ladder step (or several), or exempted / no_action,
    for a person the case concerns; an exemption needs a C3 ground, and a
    non-participant bears no responsibility (C1).  Returns {person_id: [steps]}."""
    if not isinstance(outcomes, dict) or not outcomes:
        raise ValidationFailed("C4: outcomes: one outcome per person, at least one",
                               field="outcomes", rule="C4")
    result = {}
    for pid, steps in outcomes.items():
        field = f"outcomes.{pid}"
        if pid not in proposals:
            raise ValidationFailed(f"C4: {field}: the case does not concern this person", field=field, rule="C4")
        steps = [steps] if isinstance(steps, str) else steps
        if not isinstance(steps, list) or not steps or any(s not in CASE_OUTCOMES for s in steps) \
                or len(set(steps)) != len(steps):
            raise ValidationFailed(f"C4: {field}: must be one or more of {', '.join(CASE_OUTCOMES)}",
                                   field=field, rule="C4")
        final = [s for s in steps if s in (EXEMPTED, NO_ACTION)]
        if final and len(steps) > 1:
            raise ValidationFailed(f"C4: {field}: {final[0]} cannot be combined with a ladder step",
                                   field=field, rule="C4")
        proposal = proposals[pid]["proposal"]
        if proposal == NOT_PARTICIPANT and steps != [NO_ACTION]:
            raise RuleViolation(f"C1: {field}: a member absent with leave bears no responsibility for "
                                "the decision", field=field, rule="C1")
        if steps == [EXEMPTED] and proposal != MAY_BE_EXEMPTED:
            raise RuleViolation(f"C3: {field}: only explicit opposition or a reserved opinion grounds an "
                                "exemption", field=field, rule="C3")
        result[pid] = list(steps)
    return result


# ================================================================== C5 implementation

REMINDER_DAYS = 3                                 # C5: a task's reminder goes this many days before its deadline
TASK_ASSIGN_ROLES = ("secretary", "office")       # §三(七): the office follows implementation up
TASK_EXPLAIN_ROLES = ("secretary", "office")      # besides the responsible leader
TASK_READ_ROLES = ("secretary", "deputy_secretary", "member", "office", "discipline")
SUPERVISION_KINDS = {"office": "office", "discipline": "discipline"}   # kind -> role, §三(七), §三(十一)
YELLOW_DAYS = 7
TASK_STATUSES = ("red", "yellow", "green", "closed")
OPEN, COMPLETED, NOT_EXECUTABLE = "open", "completed", "not_executable"


def task_status(state, deadline, percent, today):
    """C5 traffic light: red overdue, yellow ≤ 7 days to the deadline and < 100 %,
    green on track; a completed task or one declared not executable is closed."""
    if state != OPEN:
        return "closed"
    if deadline < today:
        return "red"
    if (deadline - today).days <= YELLOW_DAYS and percent < 100:
        return "yellow"
    return "green"


def check_assignment(decision_outcome, deadline, today):
    """C5 §三(七): only a passed decision is implemented; the deadline lies ahead."""
    if decision_outcome != "passed":
        raise RuleViolation("C5: decision_id: only a passed decision is implemented",
                            field="decision_id", rule="C5")
    if deadline < today:
        raise RuleViolation("C5: deadline: must not lie in the past", field="deadline", rule="C5")


def check_open(state):
    if state != OPEN:
        raise RuleViolation(f"C5: task_id: the task is {state}", field="task_id", rule="C5")


def check_report(task, percent, special_report):
    """C5 §三(十一): the responsible leader reports; an important item is completed only
    after a written special report; progress does not go backwards."""
    check_open(task["state"])
    if percent < task["percent"]:
        raise RuleViolation(f"C5: percent: progress was {task['percent']} %, it cannot go back",
                            field="percent", rule="C5")
    if percent == 100 and task["important"] and not (task["special_report_filed"] or _text(special_report)):
        raise RuleViolation("C5: special_report: an important item needs a written special report "
                            "before it is completed (§三(十一))", field="special_report", rule="C5")


def check_explanation(explanation):
    """C5 §三(十二): postponing or not executing a decision needs an explanation to the group."""
    if not _text(explanation):
        raise RuleViolation("C5: explanation: a decision that is postponed or cannot be executed needs "
                            "an explanation to the group (§三(十二))", field="explanation", rule="C5")


def check_postpone(task, new_deadline, today):
    check_open(task["state"])
    if new_deadline <= task["deadline"] or new_deadline < today:
        raise RuleViolation("C5: new_deadline: must be later than the current deadline and not in the past",
                            field="new_deadline", rule="C5")


def require_task_actor(actor, task, explain=False):
    """C5: the responsible leader reports; postponing or not executing may also come from
    the secretary or the office of the task's organization."""
    actor.require_org(task["org_id"])
    if actor.person_id == task["leader_person_id"] or "system" in actor.roles:
        return
    if explain and any(r in actor.roles for r in TASK_EXPLAIN_ROLES):
        return
    raise Forbidden("C5: only the responsible leader" + (", the secretary or the office" if explain else "")
                    + " may do this", field="actor.person_id", rule="C5")


# ================================================================== C6 duties

DUTY_KINDS = ("secretary_duty_report", "member_assessment", "annual_comprehensive_report", "special_report")
PERSONAL_DUTIES = ("secretary_duty_report", "member_assessment")       # §五(一): of one person
DUTY_CREATE_ROLES = ("secretary", "office", "org_department")
DUTY_FILE_ROLES = ("secretary", "office")
DUTY_READ_ROLES = ("secretary", "deputy_secretary", "member", "office", "discipline",
                   "org_department", "discipline_commission")
DUTY_STATUSES = ("due", "overdue", "filed")


def check_duty(data):
    if data["kind"] in PERSONAL_DUTIES and not data.get("person_id"):
        raise ValidationFailed(f"C6: person_id: a {data['kind']} is one person's", field="person_id", rule="C6")
    if data["kind"] not in PERSONAL_DUTIES and data.get("person_id"):
        raise ValidationFailed(f"C6: person_id: a {data['kind']} is the group's, not one person's",
                               field="person_id", rule="C6")


def duty_status(filed, due_date, today):
    """C6: filed, overdue (past its due date, not filed) or due."""
    if filed:
        return "filed"
    return "overdue" if due_date < today else "due"


def require_duty_filer(actor, duty):
    """C6: a personal duty is filed by its person; a group duty by the secretary or the office."""
    actor.require_org(duty["org_id"])
    if actor.person_id == duty.get("person_id") or "system" in actor.roles:
        return
    if any(r in actor.roles for r in DUTY_FILE_ROLES):
        return
    raise Forbidden("C6: a report is filed by its person, the secretary or the office",
                    field="actor.roles", rule="C6")


# ================================================================== C7 alerts

ALERT_READ_ROLES = ("secretary", "discipline", "discipline_commission", "org_department")
ALERT_ACK_ROLES = ("secretary", "discipline")


def require_read(actor, org_id, roles, rule, what):
    """Read access to an organization's records of one kind: the role, and the same
    organization unless the role reads across organizations (SPEC §1)."""
    actor.require(*roles, rule=rule, action=f"reading {what}")
    actor.require_org(org_id, cross_org_read=True)



# ------------------------------------------------------------------ A2: witnessing the archive's checkpoints

def checkpoint_inconsistency(new, kept, consistency, witnessed_root, earlier_seq=None):
    """A2 (rollback): why a checkpoint the archive published contradicts what this witness kept,
    or None.  ``kept``: the witnessed checkpoint at the same seq ({head_hash, tree_root}) or None;
    ``consistency``: the event's RFC 6962 proof {from_seq, from_tree_root, proof} from the
    checkpoint signed before; ``witnessed_root``: the tree root this witness kept at from_seq;
    ``earlier_seq``: the furthest checkpoint this witness kept before this one (None: none)."""
    seq = new["seq"]
    if kept is not None and kept["head_hash"] != new["head_hash"]:
        return (f"A2: the archive signed another head at seq {seq} than the one witnessed: "
                "its chain was rewritten")
    if consistency is None and earlier_seq is not None and kept is None:
        return (f"A2: the checkpoint at seq {seq} proves nothing about the one witnessed at seq {earlier_seq}: "
                "the archive lost its earlier checkpoints (rolled back?)")
    if not isinstance(consistency, dict) or witnessed_root is None or new.get("tree_root") is None:
        return None                 # nothing witnessed to compare with (first checkpoint seen)
    start, proof = consistency.get("from_seq"), consistency.get("proof") or []
    if isinstance(start, bool) or not isinstance(start, int) or not isinstance(proof, list):
        return f"A2: the checkpoint at seq {seq} carries a malformed consistency proof"
    if consistency.get("from_tree_root") != witnessed_root or not verify_consistency(
            start, seq, witnessed_root, new["tree_root"], proof):
        return (f"A2: the checkpoint at seq {seq} is not consistent with the one witnessed at seq {start} "
                "(RFC 6962): the chain was rolled back or rewritten")
    return None
