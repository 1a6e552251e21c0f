"""The event catalogue says what the code emits, no more and no less (SPEC §4)."""
import re
from pathlib import Path

import pytest

from shared.envelope import make_envelope
from tests.support.asyncapi import channels, validate_event

ROOT = Path(__file__).resolve().parents[2]
EMIT = re.compile(r'uow\.emit\(\s*"([a-z_]+)"')


def emitted_in_code():
    found = set()
    for path in (ROOT / "services").glob("*/*.py"):
        for event_type in EMIT.findall(path.read_text(encoding="utf-8")):
            found.add((f"{path.parent.name}.events", event_type))
    return found


def test_every_emitted_event_is_documented_and_every_documented_event_is_emitted():
    assert emitted_in_code() == set(channels())


def test_event_types_are_snake_case_noun_then_verb():
    for _, event_type in channels():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", event_type), event_type


def test_a_wrong_payload_fails_validation():
    body = make_envelope("meetings", "meeting_opened", "org-1",
                         {"meeting_id": "m", "opened_at": "2026-01-01T00:00:00Z", "n": 9, "present": 6, "quorum": 6})
    validate_event("meetings.events", "meeting_opened", body)
    body["data"]["n"] = "nine"
    with pytest.raises(AssertionError):
        validate_event("meetings.events", "meeting_opened", body)
    with pytest.raises(AssertionError):
        validate_event("meetings.events", "meeting_reopened", body)


def test_no_yaml_boolean_traps_in_the_catalogue():
    """Unquoted yes/no become booleans in YAML: every key and enum value must stay a string."""
    from tests.support.asyncapi import document

    def walk(node, path="$"):
        if isinstance(node, dict):
            for key, value in node.items():
                assert isinstance(key, str), f"non-string key {key!r} at {path}"
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                assert not isinstance(value, bool), f"boolean {value!r} at {path}[{i}]"
                walk(value, f"{path}[{i}]")
    walk(document())
