"""The event catalogue (docs/asyncapi.yaml) as JSON Schema validators."""
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


@lru_cache(maxsize=1)
def document():
    return yaml.safe_load(DOC.read_text(encoding="utf-8"))


def channels():
    """{(exchange, routing key): message name} for every documented event."""
    out = {}
    for channel in document()["channels"].values():
        exchange = channel["bindings"]["amqp"]["exchange"]["name"]
        (message_name,) = channel["messages"]
        out[(exchange, channel["address"])] = message_name
    return out


def validator(message_name):
    root = dict(document())
    root["$ref"] = f"#/components/messages/{message_name}/payload"
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def validate_event(exchange, routing_key, body):
    """Raise AssertionError unless ``body`` is a documented event that matches its schema."""
    key = (exchange, routing_key)
    assert key in channels(), f"undocumented event {routing_key} on {exchange}"
    errors = sorted(validator(channels()[key]).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{exchange}/{routing_key}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
    assert body["event_type"] == routing_key
    assert body["producer"] + ".events" == exchange
