"""The event envelope of SPEC §4, shared by every producer and consumer.

``event_id`` (uuid; consumers de-duplicate on it), ``event_type``,
``schema_version``, ``occurred_at`` (ISO 8601 UTC), ``org_id``, ``producer``,
``data``.  Plain JSON: nothing here depends on the transport.
"""
import datetime as _dt
import decimal
import json
import uuid

from marshmallow import Schema, fields, validate

from shared.clock import iso, utcnow

EVENT_TYPE_PATTERN = r"^[a-z]+(_[a-z]+)+$"   # <noun>_<past verb>


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Regexp(EVENT_TYPE_PATTERN))
    schema_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso", default_timezone=_dt.timezone.utc)
    org_id = fields.String(required=True, allow_none=True)
    producer = fields.String(required=True, validate=validate.Length(min=1))
    data = fields.Dict(required=True)


def _default(value):
    if isinstance(value, _dt.datetime):
        return iso(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value):
    """Compact, key-sorted JSON (UTF-8 text) for event bodies and stored payloads."""
    return json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def make_envelope(producer, event_type, org_id, data, schema_version=1, event_id=None, occurred_at=None):
    envelope = {
        "event_id": str(event_id or uuid.uuid4()),
        "event_type": event_type,
        "schema_version": schema_version,
        "occurred_at": iso(occurred_at or utcnow()),
        "org_id": org_id,
        "producer": producer,
        "data": data,
    }
    # normalise (dates to strings, tuples to lists) so what is stored is what is sent
    return json.loads(dumps(envelope))


def parse_envelope(body):
    """Validate an incoming body; raises marshmallow.ValidationError when malformed.

    Returns the body itself (string ids and timestamps kept as sent) so handlers
    see exactly what was published.
    """
    if isinstance(body, (bytes, str)):
        body = json.loads(body)
    EnvelopeSchema().load(body, unknown="include")
    return body
