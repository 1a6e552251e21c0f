"""Issue 17, defect 7: services started from deploy/ refuse placeholder or short secrets, with a
message naming each one; ``make run`` and the tests (which do not set the switch) are unaffected."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.config import MIN_SECRET_LENGTH, WeakSecret, load_config

ROOT = Path(__file__).resolve().parents[2]
STRONG = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def example_env():
    values = {}
    for line in (ROOT / "deploy" / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def deploy_like(tmp_path, **secrets):
    """The environment deploy/compose.yaml gives a service, with the given secrets."""
    s = {"RABBITMQ_PASSWORD": STRONG, "DB_PASSWORD": STRONG, "SESSION_SECRET": STRONG, **secrets}
    return {"REQUIRE_STRONG_SECRETS": "1", "DATA_DIR": str(tmp_path),
            "AMQP_URI": f"amqp://suite:{s['RABBITMQ_PASSWORD']}@rabbitmq:5672/",
            "GATEWAY_DATABASE_URL": f"postgresql://suite_gateway:{s['DB_PASSWORD']}@postgres:5432/suite_gateway",
            "SESSION_SECRET": s["SESSION_SECRET"]}


def test_the_example_placeholders_are_refused_each_by_name(tmp_path):
    example = example_env()
    env = deploy_like(tmp_path, RABBITMQ_PASSWORD=example["RABBITMQ_PASSWORD"],
                      DB_PASSWORD=example["GATEWAY_DB_PASSWORD"], SESSION_SECRET=example["SESSION_SECRET"])
    with pytest.raises(WeakSecret) as info:
        load_config("gateway", env=env)
    message = str(info.value)
    for name in ("SESSION_SECRET", "AMQP_URI", "DATABASE_URL"):
        assert name in message, message
    assert "change-me" in message and "openssl rand" in message
    assert example["SESSION_SECRET"] not in message          # the value itself is never printed
    # every change-me value of the example file is refused
    for key, value in example.items():
        if "change-me" in value:
            with pytest.raises(WeakSecret):
                load_config("gateway", env=deploy_like(tmp_path, SESSION_SECRET=value))


@pytest.mark.parametrize("weak", ["short-but-ok", "a" * 40, "changeme" + STRONG, STRONG[:MIN_SECRET_LENGTH - 1],
                                  "replace-me-" + STRONG, "abababababababababab"])
def test_short_repetitive_or_placeholder_secrets_are_refused(tmp_path, weak):
    for secret in ("SESSION_SECRET", "RABBITMQ_PASSWORD", "DB_PASSWORD"):
        with pytest.raises(WeakSecret):
            load_config("gateway", env=deploy_like(tmp_path, **{secret: weak}))


def test_strong_secrets_pass_and_the_gateway_needs_its_session_secret(tmp_path):
    config = load_config("gateway", env=deploy_like(tmp_path))
    assert config["SESSION_SECRET"] == STRONG
    env = deploy_like(tmp_path)
    del env["SESSION_SECRET"]
    with pytest.raises(WeakSecret, match="SESSION_SECRET"):
        load_config("gateway", env=env)
    env["SMTP_PASSWORD"] = "change-me"
    env["SESSION_SECRET"] = STRONG
    with pytest.raises(WeakSecret, match="SMTP_PASSWORD"):
        load_config("gateway", env=env)


def test_without_the_switch_nothing_is_checked(tmp_path):
    """make run and the tests: the local broker's guest:guest and no session secret are fine."""
    config = load_config("gateway", env={"DATA_DIR": str(tmp_path), "AMQP_URI": "amqp://guest:guest@localhost//"})
    assert config["AMQP_URI"].startswith("amqp://guest:guest@")


def test_deploy_sets_the_switch_for_every_service():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert str(compose["x-app-env"]["REQUIRE_STRONG_SECRETS"]) == "1"
    for name in ("meetings", "voting", "archive", "accountability", "notifications", "gateway"):
        assert str(compose["services"][name]["environment"]["REQUIRE_STRONG_SECRETS"]) == "1", name


def test_a_service_started_with_a_placeholder_exits_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(deploy_like(tmp_path, RABBITMQ_PASSWORD="change-me-rabbitmq-password"))
    proc = subprocess.run([sys.executable, "-m", "services.meetings"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert re.search(r"AMQP_URI.*placeholder", proc.stderr) and "Traceback" not in proc.stderr, proc.stderr
