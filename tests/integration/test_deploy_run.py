"""`make run` (``python -m shared.runner supervise deploy/Procfile``): a service that dies is
started again and the log says so; the others keep running (issue 21: honcho stopped them all).
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


class Output:
    """The supervisor's combined log, read as it grows."""

    def __init__(self, path):
        self.path = path

    def text(self):
        return self.path.read_text(errors="replace")

    def wait_for(self, pattern, count=1, timeout=90, proc=None):
        deadline = time.monotonic() + timeout
        while True:
            found = re.findall(pattern, self.text(), re.M)
            if len(found) >= count:
                return found
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"supervisor exited ({proc.returncode}):\n{self.text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {count} × {pattern!r} within {timeout} s:\n{self.text()[-4000:]}")
            time.sleep(0.2)


def reap(output):
    """Kill every process the supervisor started that is still running -> their pids.  Each runs
    in a session of its own: one left behind (a supervisor killed before it stopped them) would
    keep reconnecting to this test's vhost after it is deleted, which wears the broker down."""
    alive = []
    for pid in {int(p) for p in re.findall(r"started \(pid (\d+)\)", output.text())}:
        try:
            os.killpg(pid, signal.SIGKILL)
            alive.append(pid)
        except (ProcessLookupError, PermissionError):
            pass
    return alive


def test_a_dead_service_is_restarted_and_the_others_keep_running(amqp_uri, tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text((ROOT / "deploy" / "Procfile").read_text())
    # the two services that need nothing else to get ready: enough to show one dying alone
    procfile.write_text("".join(line + "\n" for line in procfile.read_text().splitlines()
                                if line.split(":")[0] in ("meetings", "voting")))
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(AMQP_URI=amqp_uri, DATA_DIR=str(tmp_path / "data"), GATEWAY_PORT=str(free_port()),
               PYTHONUNBUFFERED="1", DEMO_SEED="0")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shared.runner", "supervise", str(procfile)], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    output = Output(log)
    try:
        output.wait_for(r"^\S+ meetings \| .*meetings ready", proc=proc)
        output.wait_for(r"^\S+ voting +\| .*voting ready", proc=proc)
        pids = dict((name, int(pid)) for name, pid in
                    re.findall(r"\| (\w+) started \(pid (\d+)\)", output.text()))

        os.killpg(pids["meetings"], signal.SIGKILL)      # the service dies (its shell and itself)
        (said,) = output.wait_for(r"\| (meetings exited with code -9 after [\d.]+ s; restarting it in 1 s "
                                  r"\(restart 1\); the other services keep running)$", proc=proc)
        output.wait_for(r"meetings started \(pid \d+\)", count=2, proc=proc)
        output.wait_for(r"^\S+ meetings \| .*meetings ready", count=2, proc=proc)

        os.kill(pids["voting"], 0)                       # still the same process: never restarted
        assert "voting exited" not in output.text()
        assert len(re.findall(r"voting started", output.text())) == 1
        new_pid = int(re.findall(r"meetings started \(pid (\d+)\)", output.text())[-1])
        assert new_pid != pids["meetings"]
        os.kill(new_pid, 0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        leftovers = reap(output)
    assert proc.returncode == 0, output.text()[-3000:]
    assert not leftovers, f"services still running after the supervisor stopped: {leftovers}"
    assert "stopping every service" in output.text()
    for pid in (pids["voting"], new_pid):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_service_that_keeps_dying_is_restarted_with_a_growing_delay(tmp_path, amqp_uri):
    procfile = tmp_path / "Procfile"
    procfile.write_text("crashing: exit 3\nsteady: sleep 60\n")
    log = tmp_path / "run.log"
    env = dict(os.environ, AMQP_URI=amqp_uri)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shared.runner", "supervise", str(procfile)], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    output = Output(log)
    try:
        said = output.wait_for(r"crashing exited with code 3 after [\d.]+ s; restarting it in (\d+) s", count=3,
                               proc=proc, timeout=30)
        assert [int(s) for s in said[:3]] == [1, 2, 4]
        assert len(re.findall(r"steady started", output.text())) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(45)
        finally:
            reap(output)
    assert proc.returncode == 0


def test_supervise_exits_with_help_when_the_broker_is_unreachable(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("steady: sleep 60\n")
    env = dict(os.environ, AMQP_URI=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    result = subprocess.run([sys.executable, "-m", "shared.runner", "supervise", str(procfile)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Cannot reach RabbitMQ" in result.stderr


def test_the_broker_help_shows_no_password_of_any_failover_node(tmp_path):
    """A cluster's AMQP_URI lists every node (amqp://…;amqp://…): the help printed when none
    answers names the nodes without any of their passwords (kombu masks only the first)."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("steady: sleep 60\n")
    uri = ";".join(f"amqp://suite:node{i}-secret-pw@127.0.0.1:{free_port()}/" for i in (1, 2, 3))
    result = subprocess.run([sys.executable, "-m", "shared.runner", "supervise", str(procfile)], cwd=ROOT,
                            env=dict(os.environ, AMQP_URI=uri), capture_output=True, text=True, timeout=90)
    assert result.returncode == 2 and "Cannot reach RabbitMQ" in result.stderr
    assert result.stderr.count("suite:**@127.0.0.1") == 3, result.stderr
    assert "secret-pw" not in result.stderr + result.stdout
