"""Who may do what at the gateway: role groups and the organization a request concerns."""
from shared.actor import GROUP_ROLES, Actor
from shared.errors import Forbidden, NotFound, ValidationFailed

CHAIRS = ("secretary", "deputy_secretary")
__all__ = ["CHAIRS", "GROUP_ROLES", "own_org", "org_for_read", "require_meeting", "require_person_record"]


def own_org(actor):
    if not actor.org_id:
        raise Forbidden("AUTH: this account belongs to no organization", field="org_id", rule="AUTH")
    return actor.org_id


def org_for_read(actor, requested):
    """The caller's organization, or another one for roles that read across organizations."""
    if requested is None:
        if not actor.org_id:
            raise ValidationFailed("org_id: required for an account without an organization", field="org_id")
        return actor.org_id
    actor.require_org(requested, cross_org_read=True)
    return requested


def require_meeting(meetings, actor, meeting_id, admin_reads=False):
    """Issue 17: a path or list filter naming a meeting the caller cannot see (unknown, or another
    organization's) is a 404, not an empty answer. ``meetings`` is the meetings RPC proxy;
    ``admin_reads``: the route lets an administrator read any organization's meeting."""
    who = Actor.system() if admin_reads and actor.has("admin") else actor
    meetings.get_meeting(who.to_dict(), meeting_id)          # NotFound (404) names meeting_id


def require_person_record(meetings, actor, person_id, record):
    """Issue 17: a lifetime record (C2) of a person the caller cannot see is a 404: when nothing of
    it is visible to the caller and the person is neither the caller nor in the roster of the
    caller's organization (an unknown id, or another organization's person)."""
    if record.get("total") or person_id == actor.person_id:
        return record
    if actor.org_id:
        roster = meetings.list_members(actor.to_dict(), actor.org_id)
        if person_id in {p["person_id"] for p in roster["members"] + roster["staff"]}:
            return record
    raise NotFound("C2: person_id: no such person in your organization", field="person_id", rule="C2")
