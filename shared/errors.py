"""Typed domain errors.

Every refusal names the field it concerns (when there is one) and the
rule it enforces (e.g. ``M8``, see docs/rules.md), so the gateway can answer with a clear 4xx:
``{"error": {"code", "message", "field", "rule"}}``.

The constructor's positional arguments are exactly ``(message, field, rule)``
so an error raised in one service is rebuilt as the same class in the caller
(see ``shared.nameko_ext``).
"""


class DomainError(Exception):
    status = 422
    code = "rule_violation"

    def __init__(self, message, field=None, rule=None):
        # Rebuilt from an RPC reply, every argument arrives as text: nameko's serializer
        # turns None into "None". No field or rule of the suite is literally named "None".
        field = None if field == "None" else field
        rule = None if rule == "None" else rule
        super().__init__(message, field, rule)
        self.message = message
        self.field = field
        self.rule = rule

    def __str__(self):
        return self.message

    def to_dict(self):
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "rule": self.rule,
        }


class ValidationFailed(DomainError):
    """Input that does not have the expected shape (missing field, wrong type)."""
    status = 400
    code = "validation_error"


class RuleViolation(DomainError):
    """Well-formed input that a rule of the work rules refuses."""
    status = 422
    code = "rule_violation"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"


class UpstreamTimeout(DomainError):
    status = 504
    code = "upstream_timeout"


ALL_ERRORS = (
    DomainError, ValidationFailed, RuleViolation, NotFound, Conflict,
    Unauthorized, Forbidden, ServiceUnavailable, UpstreamTimeout,
)
