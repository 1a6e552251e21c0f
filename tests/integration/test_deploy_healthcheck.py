"""The images' HEALTHCHECK command, run as the container would run it.

One command for every image (``python -m shared.runner health``), choosing by
SUITE_SERVICE (the image's build argument): a service's check calls its
``health`` RPC over the broker: it succeeds while the service runs and fails
(within its own timeout) once the service is gone. The gateway's check is an
HTTP GET of /health on GATEWAY_PORT.
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.processes import Suite, free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RPC_SERVICES = ("meetings", "voting", "archive", "accountability", "notifications")


def healthcheck_command():
    """The exec-form CMD of deploy/Dockerfile's HEALTHCHECK, with this interpreter as ``python``."""
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    joined = text.replace("\\\n", " ")
    (line,) = [l for l in joined.splitlines() if l.startswith("HEALTHCHECK")]
    command = json.loads(line[line.index("CMD") + 3:].strip())
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def run_check(service, env, timeout=30):
    started = time.monotonic()
    env = dict(env, SUITE_SERVICE=service, PYTHONPATH=str(ROOT))
    result = subprocess.run(healthcheck_command(), env=env, cwd="/", capture_output=True, text=True,
                            timeout=timeout)
    return result, time.monotonic() - started


def test_an_image_without_a_known_service_fails_its_check_and_refuses_to_serve():
    for command in ("health", "serve"):
        result = subprocess.run([sys.executable, "-m", "shared.runner", command], cwd=ROOT, capture_output=True,
                                text=True, timeout=30, env={"PATH": os.environ["PATH"], "SUITE_SERVICE": "gatewy"})
        assert result.returncode == 64 and "SUITE_SERVICE must name one of" in result.stderr


@pytest.mark.parametrize("service", ["notifications", "meetings"])
def test_the_check_passes_while_the_service_runs_and_fails_once_it_is_gone(service, amqp_uri, pg_url, tmp_path):
    env = dict(os.environ, AMQP_URI=amqp_uri, DATABASE_URL=pg_url, DATA_DIR=str(tmp_path / "data"),
               GATEWAY_PORT=str(free_port()))
    suite = Suite(env, tmp_path)
    check_env = {"PATH": os.environ["PATH"], "AMQP_URI": amqp_uri, "DATA_DIR": str(tmp_path / "data")}
    try:
        proc = suite.start(service)
        deadline = time.monotonic() + 60
        while f"{service} ready" not in suite.log(service):
            assert proc.poll() is None, suite.log(service)[-3000:]
            assert time.monotonic() < deadline, "service not ready"
            time.sleep(0.2)
        result, _ = run_check(service, check_env)
        assert result.returncode == 0, result.stderr
    finally:
        suite.stop_all()
    result, took = run_check(service, check_env)
    assert result.returncode != 0 and "health RPC failed" in result.stderr and "Timeout" in result.stderr
    assert took < 15, "the check must give up within the HEALTHCHECK timeout (10 s)"


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health"
        body = json.dumps({"status": "degraded"}).encode()   # the gateway itself is up: 200
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_gateway_check_gets_health_on_its_port():
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {"PATH": os.environ["PATH"], "GATEWAY_PORT": str(port)}
    try:
        result, _ = run_check("gateway", env)
        assert result.returncode == 0, result.stderr
    finally:
        server.shutdown()
        server.server_close()
    result, _ = run_check("gateway", env)
    assert result.returncode != 0
