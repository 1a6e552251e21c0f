"""marshmallow helpers: turn a schema failure into a typed ValidationFailed, and the checks
every input gets at the edge (issue 17, defect 4), once, for the gateway and every service:

* any text (values and keys, however deeply nested): no lone surrogate (it cannot be encoded
  as UTF-8, so no database or queue can store it), no NUL and no other control character
  but tab, line feed and carriage return;
* one-line text (``Line``: titles, names): besides, no line break or tab, and no
  bidirectional or invisible formatting character that makes a permanent record read
  otherwise than it is stored (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C,
  U+200B, U+2028/U+2029, U+FEFF);
* dates and date-times: between ``DATE_MIN`` and ``DATE_MAX`` (a year 9999 overflows the
  arithmetic done on it later).
"""
import datetime as dt
import re

from marshmallow import ValidationError, fields

from shared.errors import ValidationFailed

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_ONE_LINE = re.compile("[\t\n\r\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def text_problem(value):
    """Why ``value`` (a str) is refused as text, else None."""
    if _SURROGATE.search(value):
        return "a lone surrogate (invalid Unicode) is not allowed"
    found = _CONTROL.search(value)
    if found:
        if found.group() == "\x00":
            return "a NUL character is not allowed"
        return f"the control character U+{ord(found.group()):04X} is not allowed"
    return None


def line_problem(value):
    """Why ``value`` is refused as one-line text (a title, a name), else None."""
    problem = text_problem(value)
    if problem:
        return problem
    found = _NOT_ONE_LINE.search(value)
    if found:
        return (f"one line of text: the character U+{ord(found.group()):04X} (line break, tab, "
                f"bidirectional or invisible formatting) is not allowed")
    return None


class Line(fields.String):
    """One line of text shown in permanent records: a title, a name."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problem = line_problem(value)
        if problem:
            raise ValidationError(problem)
        return value


def _bad_text(value, path):
    """(path, problem) of the first refused text in a JSON value, else None."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path or None, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                problem = text_problem(key)
                if problem:
                    return path or str(key.encode("utf-8", "replace").decode()), f"a key: {problem}"
            found = _bad_text(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _bad_text(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _bad_date(schema, value, path):
    """(path, value) of the first loaded date outside DATE_MIN..DATE_MAX, else None."""
    if isinstance(value, (dt.date, dt.datetime)):
        day = value.date() if isinstance(value, dt.datetime) else value
        return None if DATE_MIN <= day <= DATE_MAX else (path or None, value)
    if isinstance(value, dict):
        declared = getattr(schema, "fields", {}) if schema is not None else {}
        for name, item in value.items():
            field = declared.get(name)
            key = (field.data_key or name) if field is not None else name
            inner = None
            if isinstance(field, fields.Nested):
                inner = field.schema
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                inner = field.inner.schema
            found = _bad_date(inner, item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _bad_date(schema, item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


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
    bad = _bad_text(data, "")
    if bad:
        field, problem = bad
        raise ValidationFailed(f"{field}: {problem}" if field else problem, field=field, rule=rule)
    try:
        result = schema.load(data)
    except ValidationError as exc:
        field, message = _first_error(exc.messages)
        if field and field != "_schema":
            text = f"{field}: {message}"
        else:
            text = message
        raise ValidationFailed(text, field=field, rule=rule) from None
    bad = _bad_date(schema, result, "")
    if bad:
        field, value = bad
        raise ValidationFailed(f"{field}: {value.isoformat()} is outside {DATE_MIN.isoformat()} to "
                               f"{DATE_MAX.isoformat()}", field=field, rule=rule)
    return result


MAX_OFFSET = 2 ** 31 - 1   # what every database stores as an integer


def check_page(limit, offset, max_limit=200):
    """Paging arguments of a query (RPC callers other than the gateway included):
    1 ≤ limit ≤ max_limit, 0 ≤ offset ≤ MAX_OFFSET."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise ValidationFailed(f"limit: must be an integer from 1 to {max_limit}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed(f"offset: must be an integer from 0 to {MAX_OFFSET}", field="offset")
