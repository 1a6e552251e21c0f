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
``REQUIRE_STRONG_SECRETS``  "1" (deploy/ sets it): refuse to start with a placeholder
                        (``change-me``…), short or repetitive secret (issue 17)
``RESERVED_OPINION_WINDOW_DAYS``  voting: reserved opinions after a decision are taken for this
                        many days; unset (the default): until the meeting's minutes are approved (V6)
``VOTING_BALLOT_KEY_FILE``  voting: the secret file holding the key that seals secret choices (V8);
                        ``VOTING_REQUIRE_BALLOT_KEY`` "1" refuses to start without it, ``VOTING_BALLOT_KEY_BITS``
                        the key size (default 2048; see services/voting/ballot_key.py)
"""
import os
import re
import urllib.parse
from pathlib import Path

import yaml

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Keys copied from the environment when set (raw strings).
ENV_KEYS = (
    "AMQP_URI", "DATA_DIR", "RPC_TIMEOUT", "GATEWAY_PORT", "GATEWAY_HOST",
    "SESSION_SECRET", "SESSION_TTL_SECONDS", "DEMO_SEED", "LOG_LEVEL",
    "OUTBOX_POLL_SECONDS", "MAX_WORKERS", "IDEMPOTENCY_RETENTION_HOURS", "IDEMPOTENCY_PRUNE_SECONDS",
    # notifications: e-mail, webhooks, delivery loop, reminders
    "SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SENDER",
    "SMTP_TIMEOUT_SECONDS", "WEBHOOK_ALLOW_PRIVATE", "WEBHOOK_TIMEOUT_SECONDS", "DELIVERY_POLL_SECONDS",
    "DELIVERY_BACKOFF_SECONDS", "DELIVERY_BACKOFF_MAX_SECONDS", "DELIVERY_MAX_ATTEMPTS",
    "DELIVERY_LEASE_SECONDS", "DELIVERY_BATCH", "REMINDER_POLL_SECONDS", "OBJECTION_REMINDER_LEAD_SECONDS",
    # archive: hash algorithm of new records, checkpoint signing key (base64 Ed25519 private key)
    "ARCHIVE_HASH_ALGORITHM", "ARCHIVE_SIGNING_KEY", "ARCHIVE_SIGNING_KEY_FILE", "ARCHIVE_REQUIRE_SIGNING_KEY",
    # accountability: how often the compliance timer sweeps
    "COMPLIANCE_SWEEP_SECONDS",
    # refuse weak secrets (deploy/ sets it)
    "REQUIRE_STRONG_SECRETS",
    # meetings: how long before its noticed time a meeting may open (M5, minutes, default 30)
    "MEETING_OPEN_TOLERANCE_MINUTES",
    # voting: reserved opinions after a decision for this many days (unset: until the minutes are approved, V6)
    "RESERVED_OPINION_WINDOW_DAYS",
    # voting: the secret file of the key that seals secret choices (V8), whether it is required, its size
    "VOTING_BALLOT_KEY_FILE", "VOTING_REQUIRE_BALLOT_KEY", "VOTING_BALLOT_KEY_BITS",
)

MIN_SECRET_LENGTH = 16
MIN_DISTINCT_CHARACTERS = 6
PLACEHOLDER = re.compile(r"change[-_ .]?me|replace[-_ .]?me|placeholder|your[-_ ]|<[^>]*>|xxxx", re.IGNORECASE)
SECRET_HELP = ("set a random value in deploy/.env, e.g. `openssl rand -hex 24` "
               "(at least 16 characters, A-Z a-z 0-9 . _ ~ -)")


class WeakSecret(ValueError):
    """A secret a deployment must not run with; the message names every one (never its value)."""


def secret_problem(value):
    """Why ``value`` is not acceptable as a deployment's secret, else None."""
    if not value:
        return "is not set"
    if PLACEHOLDER.search(value):
        return "is a placeholder (change-me…)"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return "is too repetitive"
    return None


def _url_password(url):
    try:
        return urllib.parse.unquote(urllib.parse.urlsplit(str(url)).password or "")
    except ValueError:
        return ""


def check_secrets(service_name, config):
    """Issue 17: with ``REQUIRE_STRONG_SECRETS`` on, every secret the service runs with must be
    strong: the broker and database passwords in their URLs, the gateway's session secret,
    and the SMTP password and archive signing key when set. Raises WeakSecret naming each."""
    checks = [("AMQP_URI (the RabbitMQ password)", _url_password(config.get("AMQP_URI")))]
    if not str(config.get("DATABASE_URL", "")).startswith("sqlite"):
        checks.append(("DATABASE_URL (the database password)", _url_password(config.get("DATABASE_URL"))))
    if service_name == "gateway":
        checks.append(("SESSION_SECRET", str(config.get("SESSION_SECRET") or "")))
    for key in ("SMTP_PASSWORD", "ARCHIVE_SIGNING_KEY"):
        if config.get(key):
            checks.append((key, str(config[key])))
    problems = [f"  {name} {problem}" for name, value in checks if (problem := secret_problem(value))]
    if problems:
        raise WeakSecret(f"{service_name}: refusing to start with weak secrets "
                         f"(REQUIRE_STRONG_SECRETS is on):\n" + "\n".join(problems) + f"\n{SECRET_HELP}")


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
    if str(config.get("REQUIRE_STRONG_SECRETS", "")).strip().lower() in ("1", "true", "yes", "on"):
        check_secrets(service_name, config)
    return config
