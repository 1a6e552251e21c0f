"""Who may do what at the gateway: role groups and the organization a request concerns."""
from shared.actor import GROUP_ROLES
from shared.errors import Forbidden, ValidationFailed

CHAIRS = ("secretary", "deputy_secretary")
__all__ = ["CHAIRS", "GROUP_ROLES", "own_org", "org_for_read"]


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
