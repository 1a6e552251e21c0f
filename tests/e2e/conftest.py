import os
import time

import pytest
import requests

from tests.support.processes import Suite, free_port

DEMO_PASSWORD = "demo-password-2026"


@pytest.fixture
def suite(amqp_uri, tmp_path):
    """Every service as its own process on this test's vhost, SQLite under a fresh data folder."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({"AMQP_URI": amqp_uri, "DATA_DIR": str(tmp_path / "data"), "GATEWAY_PORT": str(free_port()),
                "GATEWAY_HOST": "127.0.0.1", "DEMO_SEED": "1", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"})
    s = Suite(env, tmp_path)
    s.start_all()
    try:
        s.wait_healthy()
        yield s
    finally:
        s.stop_all()


class Client:
    def __init__(self, base, token=None):
        self.base = base
        self.token = token

    def request(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base + path, headers=headers, timeout=20, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


def login(base, username, password=DEMO_PASSWORD, timeout=60):
    """Log in (waiting for the demo seed on a fresh data folder)."""
    deadline = time.monotonic() + timeout
    while True:
        r = requests.post(base + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=20)
        if r.status_code == 200:
            return Client(base, r.json()["token"]), r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"login {username}: {r.status_code} {r.text}")
        time.sleep(0.5)
