"""The common package: configuration, envelope, validation, topology."""
import json
from pathlib import Path

import pytest
from marshmallow import Schema, ValidationError, fields

from shared.actor import Actor
from shared.config import database_url, load_config
from shared.envelope import make_envelope, parse_envelope
from shared.errors import Forbidden, ValidationFailed
from shared.topology import SUBSCRIPTIONS, definitions, queue_arguments, queue_name
from shared.validation import load

ROOT = Path(__file__).resolve().parents[2]


def test_environment_wins_over_yaml_and_stays_a_raw_string(tmp_path):
    defaults = tmp_path / "config.yaml"
    defaults.write_text("AMQP_URI: amqp://from-yaml//\nRPC_TIMEOUT: 10\n")
    config = load_config("meetings", defaults_path=defaults,
                         env={"AMQP_URI": "amqp://from-env//", "SESSION_SECRET": "0123", "DATA_DIR": str(tmp_path)})
    assert config["AMQP_URI"] == "amqp://from-env//"
    assert config["SESSION_SECRET"] == "0123"          # not YAML-parsed into 83
    assert config["RPC_TIMEOUT"] == 10
    assert config["DATABASE_URL"].startswith("sqlite:///") and config["DATABASE_URL"].endswith("meetings.sqlite3")


def test_database_url_per_service_placeholder_and_override(tmp_path):
    env = {"DATABASE_URL": "postgresql://u@db/suite_{service}"}
    assert database_url("voting", env) == "postgresql://u@db/suite_voting"
    env["VOTING_DATABASE_URL"] = "postgresql://u@db/elsewhere"
    assert database_url("voting", env) == "postgresql://u@db/elsewhere"


def test_gateway_port_from_environment(tmp_path):
    config = load_config("gateway", defaults_path=tmp_path / "none.yaml", env={"GATEWAY_PORT": "8123"})
    assert config["WEB_SERVER_ADDRESS"] == "0.0.0.0:8123"


def test_envelope_has_the_spec_fields_and_validates():
    env = make_envelope("voting", "result_decided", "org-1", {"yes": 5})
    assert set(env) == {"event_id", "event_type", "schema_version", "occurred_at", "org_id", "producer", "data"}
    assert env["occurred_at"].endswith("Z")
    assert parse_envelope(json.dumps(env)) == env
    broken = dict(env)
    del broken["event_id"]
    with pytest.raises(ValidationError):
        parse_envelope(broken)
    with pytest.raises(ValidationError):
        parse_envelope({**env, "event_type": "ResultDecided"})   # <noun>_<past verb>


def test_validation_error_names_the_field():
    class In(Schema):
        title = fields.String(required=True)
        count = fields.Integer(required=True)

    with pytest.raises(ValidationFailed) as err:
        load(In(), {"title": "x", "count": "many"})
    assert err.value.field == "count" and err.value.status == 400
    with pytest.raises(ValidationFailed) as err:
        load(In(), ["not", "an", "object"])
    assert "JSON object" in err.value.message


def test_actor_checks_organization():
    actor = Actor.from_dict({"person_id": "p", "org_id": "o1", "roles": ["member"]})
    actor.require_org("o1")
    with pytest.raises(Forbidden):
        actor.require_org("o2")
    inspector = Actor.from_dict({"person_id": "q", "org_id": "o1", "roles": ["discipline_commission"]})
    inspector.require_org("o2", cross_org_read=True)
    with pytest.raises(Forbidden):
        inspector.require_org("o2")


def test_every_queue_is_quorum_with_delivery_limit_and_dead_letter():
    for source, event_type, service, method in SUBSCRIPTIONS:
        args = queue_arguments(queue_name(source, event_type, service, method))
        assert args["x-queue-type"] == "quorum" and args["x-delivery-limit"] > 0
        assert args["x-dead-letter-exchange"]


def test_deploy_definitions_file_matches_the_topology():
    path = ROOT / "deploy" / "rabbitmq" / "definitions.json"
    on_disk = json.loads(path.read_text())
    expected = definitions()
    for key in ("exchanges", "queues", "bindings"):
        assert on_disk[key] == expected[key], f"{path.name} is stale: run 'make definitions'"


def test_domain_errors_cross_rpc_as_the_same_class_with_none_kept():
    from nameko.exceptions import deserialize, serialize

    import shared.nameko_ext  # noqa: F401  (registers the error classes)
    from shared.errors import NotFound
    rebuilt = deserialize(serialize(NotFound("meeting_id: no such meeting", field="meeting_id")))
    assert type(rebuilt) is NotFound and rebuilt.status == 404
    assert (rebuilt.field, rebuilt.rule) == ("meeting_id", None)
    assert rebuilt.to_dict()["rule"] is None


def test_a_start_waits_for_a_slow_broker_but_not_for_a_missing_one(monkeypatch, capsys):
    """A broker that accepts but is slow to answer (busy, starting) is waited for; a refused
    connection exits at once with the help text (README: 'exits at once and says how')."""
    import pytest

    from shared import amqp, runner
    monkeypatch.setattr(runner.time, "sleep", lambda s: None)
    answers = [ConnectionError("timed out"), ConnectionError("timed out"), None]

    def slow(uri):
        answer = answers.pop(0)
        if answer:
            raise answer
    monkeypatch.setattr(amqp, "check_broker", slow)
    runner._check_broker_or_exit("amqp://guest:guest@127.0.0.1:5672/", wait=30)
    assert answers == []

    calls = []

    def refused(uri):
        calls.append(uri)
        raise ConnectionError("[Errno 111] Connection refused")
    monkeypatch.setattr(amqp, "check_broker", refused)
    with pytest.raises(SystemExit) as exit_:
        runner._check_broker_or_exit("amqp://guest:secret@127.0.0.1:5672/", wait=30)
    assert exit_.value.code == 2 and len(calls) == 1
    err = capsys.readouterr().err
    assert "Cannot reach RabbitMQ" in err and "secret" not in err

    monkeypatch.setattr(amqp, "check_broker", lambda uri: (_ for _ in ()).throw(ConnectionError("timed out")))
    with pytest.raises(SystemExit):
        runner._check_broker_or_exit("amqp://guest:guest@127.0.0.1:5672/", wait=0)


def test_the_group_arithmetic_is_written_once_and_every_service_uses_it():
    """§二, M8, V3 (issue 16): the group roles, the quorum and the pass line live in
    shared/group_rules.py; meetings, voting and accountability use those very functions."""
    from services.accountability import compliance
    from services.meetings import domain as meetings
    from services.voting import domain as voting
    from shared import group_rules
    assert meetings.quorum_required is voting.quorum_required is compliance.quorum_required \
        is group_rules.quorum_required
    assert voting.threshold is group_rules.threshold and voting.outcome is group_rules.outcome
    assert meetings.GROUP_ROLES is voting.GROUP_ROLES is group_rules.GROUP_ROLES
    # M8: ceil(2N/3); V3: more than half of N
    assert [group_rules.quorum_required(n) for n in (0, 1, 3, 7, 9, 10)] == [0, 1, 2, 5, 6, 7]
    assert [group_rules.threshold(n) for n in (1, 7, 8, 9)] == [1, 4, 5, 5]
    assert group_rules.outcome(5, 9) == "passed" and group_rules.outcome(4, 8) == "failed"
