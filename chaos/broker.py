"""A RabbitMQ node of the chaos run's own, so that restarting it disturbs nobody else.

``PrivateBroker`` starts ``rabbitmq-server -detached`` under a node name, ports, data
and log folders of its own (a temporary folder; its own Erlang cookie in a temporary
HOME), with the management plugin on a port of its own, and removes everything at the
end.  ``ExternalBroker`` is the explicit opt-in fallback: ``CHAOS_AMQP_URI`` names the
broker and ``CHAOS_RABBITMQ_NODE`` the node ``rabbitmqctl -n`` may stop and start; it is
never chosen silently.
"""
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

from tests.support.processes import free_port

# where distribution packages keep the real scripts (the ones on PATH may be wrappers
# that insist on running as the broker's system user)
SCRIPT_DIRS = ("/usr/lib/rabbitmq/bin", "/usr/local/lib/rabbitmq/bin", "/opt/rabbitmq/sbin")


def _script(name):
    override = os.environ.get("CHAOS_RABBITMQ_BIN")
    for folder in ([override] if override else []) + list(SCRIPT_DIRS):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install rabbitmq-server or set CHAOS_RABBITMQ_BIN")
    return found


class _Ctl:
    """rabbitmqctl against one node."""

    node = None
    env = None

    def ctl(self, *args, timeout=120, check=True):
        result = subprocess.run([_script("rabbitmqctl"), "-n", self.node, "-q", *args], env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "120")

    def set_write_permission(self, regex):
        """The guest user's write permission (configure and read stay ``.*``)."""
        self.ctl("set_permissions", "-p", self.vhost, self.user, ".*", regex, ".*")

    def api(self, method, path, **kwargs):
        return requests.request(method, self.management + path, auth=(self.user, self.password), timeout=10,
                                **kwargs)

    def queues(self):
        """{queue name: {"messages", "consumers", ...}} of the run's vhost (management API)."""
        vhost = urllib.parse.quote(self.vhost, safe="")
        r = self.api("GET", f"/api/queues/{vhost}?columns=name,messages,messages_ready,"
                            "messages_unacknowledged,consumers")
        r.raise_for_status()
        return {q["name"]: q for q in r.json()}


class PrivateBroker(_Ctl):
    def __init__(self, log=print):
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix="chaos-rabbitmq-"))
        self.node = f"chaos-{os.getpid()}@localhost"
        self.port, self.dist_port, self.mgmt_port = free_port(), free_port(), free_port()
        self.user = self.password = "guest"
        self.vhost = "/"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.management = f"http://127.0.0.1:{self.mgmt_port}"
        home = self.tmp / "home"
        for sub in ("home", "mnesia", "log"):
            (self.tmp / sub).mkdir()
        (self.tmp / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.tmp / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.mgmt_port}\n"
            "collect_statistics_interval = 500\n")
        self.env = dict(os.environ, HOME=str(home), RABBITMQ_NODENAME=self.node,
                        RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(self.dist_port),
                        RABBITMQ_MNESIA_BASE=str(self.tmp / "mnesia"), RABBITMQ_LOG_BASE=str(self.tmp / "log"),
                        RABBITMQ_ENABLED_PLUGINS_FILE=str(self.tmp / "enabled_plugins"),
                        RABBITMQ_CONFIG_FILE=str(self.tmp / "rabbitmq.conf"),
                        RABBITMQ_ADVANCED_CONFIG_FILE=str(self.tmp / "advanced.config"),
                        RABBITMQ_CONF_ENV_FILE=str(self.tmp / "rabbitmq-env.conf"),
                        RABBITMQ_PID_FILE=str(self.tmp / "pid"))
        self.started = False

    def start(self):
        t0 = time.monotonic()
        subprocess.run([_script("rabbitmq-server"), "-detached"], env=self.env, check=True,
                       capture_output=True, timeout=60)
        self.started = True
        deadline = time.monotonic() + 120
        while True:
            result = self.ctl("await_startup", "--timeout", "60", check=False)
            if result.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"private RabbitMQ node {self.node} did not start:\n{self.node_log()[-3000:]}")
            time.sleep(1)
        while True:          # the management listener comes up last
            try:
                if self.api("GET", "/api/overview").status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("private RabbitMQ node: management API did not answer")
            time.sleep(0.5)
        self.log(f"private RabbitMQ node {self.node} on 127.0.0.1:{self.port} "
                 f"(management {self.mgmt_port}) started in {time.monotonic() - t0:.1f} s")
        return self

    def node_log(self):
        path = self.tmp / "log" / f"{self.node}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self):
        if self.started:
            result = self.ctl("stop", timeout=120, check=False)
            if result.returncode != 0:
                pid = (self.tmp / "pid").read_text().strip() if (self.tmp / "pid").exists() else ""
                if pid.isdigit():
                    subprocess.run(["kill", "-9", pid], check=False)
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)


class ExternalBroker(_Ctl):
    """``CHAOS_AMQP_URI`` + ``CHAOS_RABBITMQ_NODE`` (+ ``CHAOS_RABBITMQ_MANAGEMENT_URL``): the
    operator says explicitly which broker may be restarted."""

    def __init__(self, log=print):
        self.log = log
        self.amqp_uri = os.environ["CHAOS_AMQP_URI"]
        self.node = os.environ["CHAOS_RABBITMQ_NODE"]
        parts = urllib.parse.urlsplit(self.amqp_uri)
        self.user = urllib.parse.unquote(parts.username or "guest")
        self.password = urllib.parse.unquote(parts.password or "guest")
        self.vhost = urllib.parse.unquote(parts.path[1:]) or "/"
        self.management = os.environ.get("CHAOS_RABBITMQ_MANAGEMENT_URL", f"http://{parts.hostname}:15672")
        self.env = dict(os.environ)

    def start(self):
        self.log(f"external broker {self.node} (CHAOS_AMQP_URI, opted in)")
        return self

    def close(self):
        self.set_write_permission(".*")


def make_broker(log=print):
    if os.environ.get("CHAOS_AMQP_URI"):
        if not os.environ.get("CHAOS_RABBITMQ_NODE"):
            raise SystemExit("CHAOS_AMQP_URI needs CHAOS_RABBITMQ_NODE too: the node the run may stop and start "
                             "(its whole vhost is disturbed; never point it at a shared broker)")
        return ExternalBroker(log).start()
    return PrivateBroker(log).start()
