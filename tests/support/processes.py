"""Start the suite's services as real processes (as `make run` does), for e2e tests."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("meetings", "voting", "archive", "accountability", "notifications", "gateway")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def suite_env(amqp_uri, folder, demo=True, **extra):
    """The environment of the suite started as processes: this process's own without any
    ``*DATABASE_URL`` (SQLite under ``folder``/data unless ``extra`` names databases), the
    given broker, a free gateway port, and the demo organization when ``demo``."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({"AMQP_URI": amqp_uri, "DATA_DIR": str(Path(folder) / "data"), "GATEWAY_PORT": str(free_port()),
                "GATEWAY_HOST": "127.0.0.1", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"})
    if demo:
        env["DEMO_SEED"] = "1"
    env.update(extra)
    return env


class Suite:
    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = Path(log_dir)
        self.procs = {}
        self.port = int(env["GATEWAY_PORT"])
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, name):
        log = open(self.log_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self.procs[name]

    def start_all(self):
        for name in SERVICES:
            self.start(name)

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def stop_all(self, timeout=10):
        """SIGTERM to every service at once, then SIGKILL to any still running after ``timeout``."""
        procs, self.procs = self.procs, {}
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def log(self, name):
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")
            try:
                r = requests.get(self.base + "/health", timeout=3)
                last = r.text
                if r.status_code == 200 and r.json().get("status") == "ok":
                    return r.json()
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.3)
        raise RuntimeError(f"suite not healthy after {timeout}s: {last}")
