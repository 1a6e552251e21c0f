"""`make compose-test`: the Docker Compose deployment (deploy/compose.yaml), built and run for real.

1. a Docker engine: the one that answers, else start ``dockerd`` (as root);
2. images: the ones deploy/compose.yaml names when present or pullable, else local stand-ins
   built from Debian's packages (deploy/test/standins/, on a debootstrap base cached as an
   image), used through deploy/test/compose.override.yaml (same environment, mounts and
   healthchecks); then the six service images from deploy/Dockerfile;
3. every service's entry module imported inside every built image (issue 21);
4. ``docker-compose up``, every healthcheck waited for (time to healthy);
5. the README walk-through (its curl block, as written) against the published gateway port;
6. voting scaled to 3: each of several ballots is counted and decided once, and archived once;
7. the archive's container killed (SIGKILL) while decisions are taken: it comes back by its
   restart policy and every decision is archived, the chain intact;
8. everything torn down (volumes too); image sizes and timings printed.

Ports are published on 127.0.0.1 only, on free ports; the project name is its own, so a
deployment of the suite on the same engine is not touched. Exit 0 only when every check
passed. ``--keep`` leaves the deployment running for inspection.
"""
import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
STANDINS = DEPLOY / "test" / "standins"
OVERRIDE = DEPLOY / "test" / "compose.override.yaml"
PROJECT = "suite-compose-test"
SERVICES = ("meetings", "voting", "archive", "accountability", "notifications", "gateway")
VERSION = "compose-test"
DEBIAN_IMAGE = "suite-local/debian:bookworm"
# (official image, local stand-in, stand-in Dockerfile)
IMAGES = {
    "rabbitmq": ("rabbitmq:3.13-management", "suite-local/rabbitmq:bookworm", "rabbitmq.Dockerfile"),
    "postgres": ("postgres:15", "suite-local/postgres:15-bookworm", "postgres.Dockerfile"),
    "base": ("python:3.11.14-slim-bookworm", "suite-local/python:3.11-bookworm", "python.Dockerfile"),
}
VOTERS = ["secretary", "deputy", "member1", "member2", "member3", "member4", "member5"]
PASSWORD = "demo-password-2026"
STARTED = time.monotonic()
REPORT = []


def say(text):
    print(f"[{time.monotonic() - STARTED:7.1f} s] {text}", flush=True)


def report(text):
    REPORT.append(text)
    say(text)


def sh(*args, check=True, capture=True, timeout=1800, env=None, input=None):
    result = subprocess.run(args, capture_output=capture, text=True, timeout=timeout, env=env, input=input)
    if check and result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(args)}\n{(result.stdout or '')[-3000:]}"
                         f"\n{(result.stderr or '')[-3000:]}")
    return result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- engine

def engine_answers():
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def ensure_engine():
    if engine_answers():
        say("docker engine answers")
        return
    dockerd = shutil.which("dockerd")
    if not dockerd:
        raise SystemExit("no Docker engine answers and dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise SystemExit("no Docker engine answers; starting dockerd needs root")
    data_root = os.environ.get("COMPOSE_TEST_DOCKER_ROOT", "/var/lib/docker-ci")
    log = open(os.environ.get("COMPOSE_TEST_DOCKERD_LOG", "/tmp/compose-test-dockerd.log"), "ab")
    subprocess.Popen([dockerd, "--data-root", data_root, "-H", "unix:///var/run/docker.sock"],
                     stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while not engine_answers():
        if time.monotonic() > deadline:
            raise SystemExit("dockerd did not answer within 60 s")
        time.sleep(1)
    say(f"started dockerd (data root {data_root})")


# --------------------------------------------------------------------------- images

def image_exists(name):
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def try_pull(name, timeout=45):
    try:
        return subprocess.run(["docker", "pull", "-q", name], capture_output=True, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def legacy_build_env():
    # the engine's own builder: no buildx plugin or frontend image to fetch
    return dict(os.environ, DOCKER_BUILDKIT="0", COMPOSE_DOCKER_CLI_BUILD="0")


def ensure_debian_base():
    if image_exists(DEBIAN_IMAGE):
        say(f"{DEBIAN_IMAGE}: cached")
        return
    if not shutil.which("debootstrap"):
        raise SystemExit("debootstrap is needed for the local stand-ins (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="suite-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        say("debootstrap bookworm (minbase), a few minutes")
        sh("debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian")
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-c", 'CMD ["/bin/bash"]', "-", DEBIAN_IMAGE], stdin=tar.stdout,
                       check=True, capture_output=True)
        tar.wait()
    say(f"{DEBIAN_IMAGE}: imported")


def choose_image(kind):
    """The official image when present or pullable, else the local stand-in (built once)."""
    official, standin, dockerfile = IMAGES[kind]
    if os.environ.get("COMPOSE_TEST_STANDINS") != "always":
        if image_exists(official) or try_pull(official):
            say(f"{kind}: {official}")
            return official
    if image_exists(standin):
        say(f"{kind}: {official} not available; local stand-in {standin} (cached)")
        return standin
    ensure_debian_base()
    with tempfile.TemporaryDirectory(prefix="suite-standin-") as tmp:
        for path in STANDINS.iterdir():
            shutil.copy2(path, tmp)
        host_ca = Path("/etc/ssl/certs/ca-certificates.crt")
        (Path(tmp) / "host-ca.crt").write_bytes(host_ca.read_bytes() if host_ca.exists() else b"")
        say(f"{kind}: {official} not available; building the local stand-in {standin}")
        sh("docker", "build", "--network", "host", "--build-arg", f"DEBIAN_IMAGE={DEBIAN_IMAGE}",
           "-f", str(Path(tmp) / dockerfile), "-t", standin, tmp, env=legacy_build_env())
    return standin


def image_size(name):
    out = sh("docker", "image", "inspect", "-f", "{{.Size}}", name).stdout.strip()
    return int(out) / 1e6


# --------------------------------------------------------------------------- compose

class Compose:
    def __init__(self, env_file, env):
        self.env_file, self.env = env_file, env

    def __call__(self, *args, check=True, capture=True, timeout=1800):
        return sh("docker-compose", "-p", PROJECT, "-f", str(DEPLOY / "compose.yaml"), "-f", str(OVERRIDE),
                  "--env-file", str(self.env_file), *args, check=check, capture=capture, timeout=timeout,
                  env=self.env)


def containers(service=None):
    """[{id, name, service, state, health, restarts}] of the project's containers."""
    args = ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"]
    if service:
        args += ["--filter", f"label=com.docker.compose.service={service}"]
    ids = sh(*args).stdout.split()
    if not ids:
        return []
    found = []
    for info in json.loads(sh("docker", "inspect", *ids).stdout):
        state = info["State"]
        found.append({"id": info["Id"][:12], "name": info["Name"].lstrip("/"),
                      "service": info["Config"]["Labels"]["com.docker.compose.service"],
                      "state": state["Status"], "health": (state.get("Health") or {}).get("Status"),
                      "restarts": info["RestartCount"], "pid": state["Pid"],
                      "user": info["Config"]["User"], "started": state["StartedAt"]})
    return found


def wait_healthy(names, expected=None, timeout=300):
    """Until every container of ``names`` (``expected[name]`` of each, default 1) is running and healthy."""
    expected = expected or {}
    deadline = time.monotonic() + timeout
    while True:
        current = [c for c in containers() if c["service"] in names]
        by = {n: [c for c in current if c["service"] == n] for n in names}
        pending = [f"{n}: " + (", ".join(f"{c['state']}/{c['health']}" for c in by[n]) or "none")
                   for n in names
                   if len([c for c in by[n] if c["state"] == "running" and c["health"] == "healthy"])
                   < expected.get(n, 1)]
        if not pending:
            return current
        if time.monotonic() > deadline:
            raise SystemExit("not healthy in time: " + "; ".join(pending))
        time.sleep(2)


# --------------------------------------------------------------------------- checks over HTTP

class Api:
    def __init__(self, base):
        self.base = base
        self.tokens = {}

    def token(self, user):
        if user not in self.tokens:
            r = requests.post(f"{self.base}/api/v1/auth/login", json={"username": user, "password": PASSWORD},
                              timeout=30)
            assert r.status_code == 200, f"login {user}: {r.status_code} {r.text}"
            self.tokens[user] = r.json()
        return self.tokens[user]["token"]

    def call(self, method, path, user="secretary", expect=(200, 201), **kwargs):
        r = requests.request(method, f"{self.base}/api/v1{path}", timeout=60,
                             headers={"Authorization": f"Bearer {self.token(user)}"}, **kwargs)
        if expect and r.status_code not in expect:
            raise AssertionError(f"{method} {path} as {user}: {r.status_code} {r.text[:500]}")
        return r

    def person(self, user):
        self.token(user)
        return self.tokens[user]["actor"]["person_id"]


def decide(api, pid, title, choices):
    """A whole decision: meeting, topic, notice, open, a named ballot, the given votes, close."""
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    meeting = api.call("POST", "/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": title,
                                                  "scheduled_at": when}).json()["meeting_id"]
    topic = api.call("POST", f"/meetings/{meeting}/topics",
                     json={"title": title, "category": "work_plan"}).json()["topic_id"]
    api.call("POST", f"/meetings/{meeting}/notice")
    api.call("POST", f"/meetings/{meeting}/open", json={"present": [pid[u] for u in VOTERS]})
    ballot = api.call("POST", "/ballots", json={"meeting_id": meeting, "topic_id": topic,
                                                "method": "named"}).json()["ballot_id"]
    for user, choice in choices.items():
        api.call("POST", f"/ballots/{ballot}/votes", user=user, json={"choice": choice})
    closed = api.call("POST", f"/ballots/{ballot}/close").json()
    return ballot, closed


def wait_record(api, decision_id, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        r = api.call("GET", f"/decisions/{decision_id}/record", expect=None)
        if r.status_code == 200:
            return r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"decision {decision_id} not archived: {r.status_code} {r.text[:300]}")
        time.sleep(0.5)


def verify(api):
    result = api.call("GET", "/records/verify").json()
    assert result["ok"] is True and result["first_bad"] is None, result
    return result


def database_sizes(compose):
    """{database: bytes} of the suite's databases (PostgreSQL's own accounting)."""
    out = compose("exec", "-T", "postgres", "psql", "-U", "postgres", "-Atc",
                  "SELECT datname, pg_database_size(datname) FROM pg_database WHERE datname LIKE 'suite_%' "
                  "ORDER BY 1").stdout
    return {name: int(size) for name, size in (line.split("|") for line in out.split())}


def readme_walkthrough(port):
    """The README's curl block, as written, against the published port; its output checked."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Walk-through"):]
    block = section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]
    block = block.replace("localhost:8000", f"127.0.0.1:{port}")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", block], capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    checks = {
        "every service ok": re.search(r'"status":\s*"ok"', out),
        "N = 9, quorum 6": re.search(r'"n":\s*9,\s*"quorum":\s*6', out),
        "M8 refusal": re.search(r'"rule":\s*"M8"', out),
        "opened": re.search(r'"status":\s*"opened"', out),
        "V1 refusal (on leave)": re.search(r'"rule":\s*"V1"', out),
        "passed 5-1": re.search(r'"outcome":\s*"passed"', out) and re.search(r'"yes":\s*5', out),
        "archived": re.search(r'"seq":\s*\d+', out) and re.search(r'"hash":\s*"[0-9a-f]{16,}', out),
        "chain verified": re.search(r'"ok":\s*true', out),
        "reserved opinion linked": "资金来源需进一步论证" in out,
    }
    missing = [name for name, hit in checks.items() if not hit]
    assert not missing, f"walk-through output lacks {missing}:\n{out[-4000:]}"
    return list(checks)


# --------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the deployment running")
    parser.add_argument("--ballots", type=int, default=30, help="ballots decided with voting scaled to 3")
    args = parser.parse_args()
    # stopped by a signal (also when started in the background): tear down all the same
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))

    ensure_engine()
    images = {kind: choose_image(kind) for kind in IMAGES}

    gateway_port, management_port = free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="suite-compose-test-"))
    env_file = tmp / "compose-test.env"
    example = [line for line in (DEPLOY / ".env.example").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    values = {}
    for line in example:
        key, _, value = line.partition("=")
        values[key] = secrets.token_hex(16) if value.startswith("change-me") else value
    # V8: the voting service's ballot key, a secret file of this run (readable by the services' uid)
    sys.path.insert(0, str(ROOT))
    from services.voting.ballot_key import generate, key_text
    ballot_key_file = tmp / "voting_ballot_key"
    ballot_key_file.write_text(key_text(generate()))
    ballot_key_file.chmod(0o644)
    values["VOTING_BALLOT_KEY_PATH"] = str(ballot_key_file)
    # A2: the archive's checkpoint signing key, a secret file of this run too (a missing path
    # would be mounted as an empty directory and the archive would refuse to start)
    from services.archive.signing import generate_private_key
    signing_key_file = tmp / "archive_signing_key"
    signing_key_file.write_text(generate_private_key() + "\n")
    signing_key_file.chmod(0o644)
    values["ARCHIVE_SIGNING_KEY_PATH"] = str(signing_key_file)
    values.update(RABBITMQ_USER="suite", GATEWAY_BIND="127.0.0.1", GATEWAY_PUBLISHED_PORT=str(gateway_port),
                  RABBITMQ_MANAGEMENT_PORT=str(management_port), SUITE_VERSION=VERSION,
                  IMAGE_PREFIX="party-group-suite")
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    env_file.chmod(0o600)
    env = legacy_build_env()
    env.update(COMPOSE_TEST_RABBITMQ_IMAGE=images["rabbitmq"], COMPOSE_TEST_POSTGRES_IMAGE=images["postgres"],
               COMPOSE_TEST_BASE_IMAGE=images["base"])
    for key in ("SUITE_VERSION", "IMAGE_PREFIX", "GATEWAY_PUBLISHED_PORT", "RABBITMQ_MANAGEMENT_PORT", "GATEWAY_BIND"):
        env.pop(key, None)        # the env file decides
    compose = Compose(env_file, env)
    compose("config", "-q")
    failed = None
    try:
        # ------------------------------------------------------------ build
        started = time.monotonic()
        compose("build", *SERVICES, capture=False)
        report(f"built the six service images in {time.monotonic() - started:.0f} s")
        names = {s: f"party-group-suite/{s}:{VERSION}" for s in SERVICES}
        for service, image in names.items():
            probe = "; ".join(f"import services.{s}.__main__" for s in SERVICES)
            result = sh("docker", "run", "--rm", "--entrypoint", "python", image, "-W", "ignore", "-c",
                        f"import os; {probe}; print(os.getuid(), os.environ['SUITE_SERVICE'])")
            uid, runs = result.stdout.split()[-2:]
            assert uid != "0" and runs == service, result.stdout
        report("every image imports all six entry modules, runs as uid 10001 and knows its service")

        # ------------------------------------------------------------ up
        compose("down", "-v", "--remove-orphans", check=False)
        started = time.monotonic()
        compose("up", "-d", capture=False)
        wait_healthy(("rabbitmq", "postgres", *SERVICES))
        healthy_after = time.monotonic() - started
        report(f"docker-compose up: every healthcheck healthy after {healthy_after:.1f} s")
        for c in containers():
            if c["service"] in SERVICES:
                assert c["user"] == "10001:10001", c

        # ------------------------------------------------------------ walk-through
        base = f"http://127.0.0.1:{gateway_port}"
        checked = readme_walkthrough(gateway_port)
        report(f"README walk-through on 127.0.0.1:{gateway_port}: {', '.join(checked)}")

        api = Api(base)
        pid = {u: api.person(u) for u in VOTERS}
        before = verify(api)["records"]
        sizes_before = database_sizes(compose)

        # ------------------------------------------------------------ scale
        started = time.monotonic()
        compose("up", "-d", "--no-recreate", "--scale", "voting=3", capture=False)
        wait_healthy(("voting",), {"voting": 3})
        report(f"voting scaled to 3, all healthy after {time.monotonic() - started:.1f} s")
        # a replica's healthcheck may be answered by another (one shared RPC queue): each
        # container's own log says it is ready, and the broker counts three consumers
        # (its statistics lag by a few seconds)
        deadline = time.monotonic() + 120
        while True:
            ready = [c["name"] for c in containers("voting")
                     if "voting ready" in sh("docker", "logs", c["id"], check=False).stdout
                     + sh("docker", "logs", c["id"], check=False).stderr]
            r = requests.get(f"http://127.0.0.1:{management_port}/api/queues/%2F/rpc-voting",
                             auth=(values["RABBITMQ_USER"], values["RABBITMQ_PASSWORD"]), timeout=30)
            consumers = r.json().get("consumers") if r.ok else None
            if len(ready) == 3 and consumers == 3:
                break
            assert time.monotonic() < deadline, f"voting replicas ready: {ready}; rpc-voting consumers: {consumers}"
            time.sleep(2)
        report(f"voting ×3: each replica logged 'voting ready'; rpc-voting has {consumers} consumers")
        decisions = {}
        choices = {u: ("no" if i == 5 else "abstain" if i == 6 else "yes") for i, u in enumerate(VOTERS)}
        for i in range(args.ballots):
            ballot, closed = decide(api, pid, f"扩容检查 {i + 1}", choices)
            tally = (closed.get("yes"), closed.get("no"), closed.get("abstain"))
            assert tally == (5, 1, 1) and closed["outcome"] == "passed", closed
            again = api.call("POST", f"/ballots/{ballot}/close", expect=None)
            assert again.status_code in (409, 422), f"second close: {again.status_code} {again.text[:200]}"
            decisions[closed["decision_id"]] = ballot
        seqs = [wait_record(api, d)["seq"] for d in decisions]
        assert len(set(seqs)) == len(decisions) == args.ballots, seqs
        after_scale = verify(api)["records"]
        compose("exec", "-T", "postgres", "psql", "-U", "postgres", "-qc", "CHECKPOINT")
        sizes_after = database_sizes(compose)
        growth = {db: (sizes_after[db] - sizes_before[db]) / args.ballots / 1024 for db in sizes_after}
        report("database growth per decision (meeting, topic, notice, 7 votes, decision, record; "
               f"{args.ballots} decisions): " + ", ".join(f"{db} {kb:.1f} KiB" for db, kb in growth.items())
               + f"; total {sum(growth.values()):.1f} KiB")
        report(f"{args.ballots} ballots with voting ×3: each tallied once (5 yes, 1 no, 1 abstain), closed once "
               f"(a second close refused), one decision each with its own archive record "
               f"(records {before} → {after_scale}), chain verified")

        # ------------------------------------------------------------ kill
        (archive,) = containers("archive")
        kills = {}
        sh("kill", "-9", str(archive["pid"]))
        killed_at = time.monotonic()
        for i in range(4):
            ballot, closed = decide(api, pid, f"宕机检查 {i + 1}", choices)
            kills[closed["decision_id"]] = ballot
        deadline = time.monotonic() + 180
        while True:
            (now,) = containers("archive")
            if now["restarts"] > archive["restarts"] and now["state"] == "running" and now["health"] == "healthy":
                break
            assert time.monotonic() < deadline, f"archive did not come back healthy: {now}"
            time.sleep(1)
        back_after = time.monotonic() - killed_at
        kill_seqs = [wait_record(api, d)["seq"] for d in kills]
        final = verify(api)
        assert len(set(kill_seqs)) == len(kills) and final["records"] >= after_scale + len(kills), (kill_seqs, final)
        report(f"archive container SIGKILLed ({archive['name']}): restarted by its policy (restart count "
               f"{archive['restarts']} → {now['restarts']}), healthy again after {back_after:.1f} s; the "
               f"{len(kills)} decisions taken meanwhile all archived (records {after_scale} → {final['records']}), "
               f"chain verified")

        # ------------------------------------------------------------ sizes
        for service in SERVICES:
            report(f"image {names[service]}: {image_size(names[service]):.0f} MB")
        for kind in ("rabbitmq", "postgres", "base"):
            report(f"image {images[kind]} ({kind}): {image_size(images[kind]):.0f} MB")
    except (AssertionError, SystemExit) as exc:
        failed = exc
        say(f"FAILED: {exc}")
        for c in containers():
            say(f"  {c['name']}: {c['state']}/{c['health']} restarts {c['restarts']}")
        logs = compose("logs", "--no-color", "--tail", "40", check=False)
        print(logs.stdout[-12000:])
    finally:
        if not args.keep:
            started = time.monotonic()
            compose("down", "-v", "--remove-orphans", check=False)
            left = containers()
            say(f"torn down in {time.monotonic() - started:.1f} s; containers left: {len(left)}")
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nSummary")
    for line in REPORT:
        print(f"  {line}")
    if failed:
        print("compose-test FAILED")
        sys.exit(1)
    print(f"compose-test passed in {time.monotonic() - STARTED:.0f} s")


if __name__ == "__main__":
    main()
