"""The explicit actor passed with every command and query.

The gateway authenticates a person and sends ``{"person_id", "org_id",
"roles"}``; every service checks it again in its domain layer (SPEC §2).
"""
from dataclasses import dataclass, field

from marshmallow import Schema, fields, validate

from shared.errors import Forbidden, Unauthorized
from shared.validation import load

GROUP_ROLES = ("secretary", "deputy_secretary", "member")
STAFF_ROLES = (
    "office", "hr", "confidential_secretary", "observer", "discipline",
    "org_department", "discipline_commission", "admin",
)
ALL_ROLES = GROUP_ROLES + STAFF_ROLES
# Roles SPEC §1 grants read access across organizations.
CROSS_ORG_READ_ROLES = ("org_department", "discipline_commission")
SYSTEM = "system"


class ActorSchema(Schema):
    person_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    org_id = fields.String(required=True, allow_none=True, validate=validate.Length(max=64))
    roles = fields.List(fields.String(validate=validate.OneOf(ALL_ROLES + (SYSTEM,))), load_default=list)


@dataclass(frozen=True)
class Actor:
    person_id: str
    org_id: str | None
    roles: tuple = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise Unauthorized("an actor is required", field="actor", rule="AUTH")
        loaded = load(ActorSchema(), data, rule="AUTH")
        return cls(loaded["person_id"], loaded["org_id"], tuple(loaded["roles"]))

    @classmethod
    def system(cls):
        """The suite itself (seeding, timers): never given to a person."""
        return cls("system", None, (SYSTEM,))

    def to_dict(self):
        return {"person_id": self.person_id, "org_id": self.org_id, "roles": list(self.roles)}

    def has(self, *roles):
        return SYSTEM in self.roles or any(r in self.roles for r in roles)

    @property
    def is_group_member(self):
        return any(r in self.roles for r in GROUP_ROLES)

    def require(self, *roles, rule="AUTH", action="this action"):
        if not self.has(*roles):
            raise Forbidden(f"{rule}: {action} needs one of the roles {', '.join(roles)}",
                            field="actor.roles", rule=rule)

    def require_org(self, org_id, cross_org_read=False):
        """Refuse access to another organization's data (SPEC §1)."""
        if SYSTEM in self.roles or org_id == self.org_id:
            return
        if cross_org_read and any(r in self.roles for r in CROSS_ORG_READ_ROLES):
            return
        raise Forbidden("AUTH: the record belongs to another organization",
                        field="org_id", rule="AUTH")
