"""marshmallow helpers: turn a schema failure into a typed ValidationFailed."""
from marshmallow import ValidationError

from shared.errors import ValidationFailed


def _first_error(messages, prefix=""):
    """Return (dotted field path, message) of the first error in a marshmallow dict."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or None
            return _first_error(value, path) if isinstance(value, (dict, list)) else (path, str(value))
    if isinstance(messages, list) and messages:
        first = messages[0]
        if isinstance(first, (dict, list)):
            return _first_error(first, prefix)
        return prefix or None, str(first)
    return prefix or None, str(messages)


def load(schema, data, rule=None):
    """Validate ``data`` with ``schema``; raise ValidationFailed naming the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict) and not getattr(schema, "many", False):
        raise ValidationFailed("request body must be a JSON object", field=None, rule=rule)
    try:
        return schema.load(data)
    except ValidationError as exc:
        field, message = _first_error(exc.messages)
        if field and field != "_schema":
            text = f"{field}: {message}"
        else:
            text = message
        raise ValidationFailed(text, field=field, rule=rule) from None


MAX_OFFSET = 2 ** 31 - 1   # what every database stores as an integer


def check_page(limit, offset, max_limit=200):
    """Paging arguments of a query (RPC callers other than the gateway included):
    1 ≤ limit ≤ max_limit, 0 ≤ offset ≤ MAX_OFFSET."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise ValidationFailed(f"limit: must be an integer from 1 to {max_limit}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed(f"offset: must be an integer from 0 to {MAX_OFFSET}", field="offset")
