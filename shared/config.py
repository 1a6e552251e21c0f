"""Configuration: environment variables over each service's YAML defaults.

Environment values are taken as raw strings (never parsed as YAML, so a
secret such as ``0123`` stays ``0123``).  Keys a service reads:

``AMQP_URI``            broker (default ``amqp://guest:guest@localhost:5672/``)
``DATA_DIR``            folder of the embedded SQLite files (default ``./data``)
``DATABASE_URL``        database for every service; ``{service}`` in it is
                        replaced by the service name (one database each)
``<SERVICE>_DATABASE_URL``  database of one service, wins over ``DATABASE_URL``
``RPC_TIMEOUT``         seconds an RPC may take before it fails (default 10)
``GATEWAY_PORT``        the gateway's HTTP port (default 8000)
"""
import os
from pathlib import Path

import yaml

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Keys copied from the environment when set (raw strings).
ENV_KEYS = (
    "AMQP_URI", "DATA_DIR", "RPC_TIMEOUT", "GATEWAY_PORT", "GATEWAY_HOST",
    "SESSION_SECRET", "SESSION_TTL_SECONDS", "DEMO_SEED", "LOG_LEVEL",
    "OUTBOX_POLL_SECONDS", "MAX_WORKERS",
    # notifications: e-mail, webhooks, delivery loop, reminders
    "SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SENDER",
    "SMTP_TIMEOUT_SECONDS", "WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_TIMEOUT_SECONDS", "DELIVERY_POLL_SECONDS",
    "DELIVERY_BACKOFF_SECONDS", "DELIVERY_BACKOFF_MAX_SECONDS", "DELIVERY_MAX_ATTEMPTS",
    "DELIVERY_LEASE_SECONDS", "DELIVERY_BATCH", "REMINDER_POLL_SECONDS", "OBJECTION_REMINDER_LEAD_SECONDS",
    # archive: hash algorithm of new records, checkpoint signing key (base64 Ed25519 private key)
    "ARCHIVE_HASH_ALGORITHM", "ARCHIVE_SIGNING_KEY", "ARCHIVE_SIGNING_KEY_FILE", "ARCHIVE_REQUIRE_SIGNING_KEY",
    # accountability: how often the compliance timer sweeps
    "COMPLIANCE_SWEEP_SECONDS",
)


def database_url(service_name, env=None, data_dir=None):
    env = os.environ if env is None else env
    specific = env.get(f"{service_name.upper()}_DATABASE_URL")
    if specific:
        return specific
    generic = env.get("DATABASE_URL")
    if generic:
        return generic.replace("{service}", service_name)
    folder = Path(data_dir or env.get("DATA_DIR") or PROJECT_ROOT / "data")
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder.resolve() / (service_name + '.sqlite3')}"


def load_config(service_name, defaults_path=None, env=None, overrides=None):
    """Build a nameko config dict for ``service_name``."""
    env = os.environ if env is None else env
    config = {}
    if defaults_path is None:
        defaults_path = PROJECT_ROOT / "services" / service_name / "config.yaml"
    defaults_path = Path(defaults_path)
    if defaults_path.exists():
        config.update(yaml.safe_load(defaults_path.read_text(encoding="utf-8")) or {})
    for key in ENV_KEYS:
        if env.get(key):
            config[key] = env[key]
    config.setdefault("AMQP_URI", DEFAULT_AMQP_URI)
    if overrides:
        config.update(overrides)
    config["SERVICE_NAME"] = service_name
    if "DATABASE_URL" not in (overrides or {}):
        config["DATABASE_URL"] = database_url(service_name, env, config.get("DATA_DIR"))
    if "MAX_WORKERS" in config:
        config["max_workers"] = int(config["MAX_WORKERS"])
    if service_name == "gateway" and "WEB_SERVER_ADDRESS" not in (overrides or {}):
        host = config.get("GATEWAY_HOST", "0.0.0.0")
        config["WEB_SERVER_ADDRESS"] = f"{host}:{int(config.get('GATEWAY_PORT', 8000))}"
    return config
