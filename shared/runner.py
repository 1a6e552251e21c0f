"""Run the suite's services.

``python -m services.<name>`` runs one service through :func:`run`: it checks the
broker first (and exits with a message saying how to get one), declares the suite's
queues before anything is published, then runs the nameko container until
SIGTERM/SIGINT.

The command line (``python -m shared.runner <command>``):

* ``check`` (the default): exit 2 with help when the broker is unreachable.
* ``serve``: run the service the image was built for (``SUITE_SERVICE``); the
  images' CMD (deploy/Dockerfile).
* ``health``: the images' HEALTHCHECK. The gateway answers GET /health on its own
  port; every other service answers its ``health`` RPC over the broker.
* ``supervise PROCFILE``: ``make run``. Every line of the Procfile is a process of
  its own; when one exits the others keep running and the supervisor starts it
  again after a back-off, saying so in the log. SIGINT/SIGTERM stop them all.
"""
import logging
import os
import signal
import subprocess
import sys
import threading
import time

SERVICES = ("meetings", "voting", "archive", "accountability", "notifications", "gateway")

BROKER_HELP = (
    "Cannot reach RabbitMQ at {uri} ({error}).\n"
    "Start one (e.g. 'rabbitmq-server -detached', or "
    "'docker run -d -p 5672:5672 rabbitmq:3-management') or point AMQP_URI at yours."
)


def configure_logging(config):
    level = str(config.get("LOG_LEVEL", os.environ.get("LOG_LEVEL", "INFO"))).upper()
    logging.basicConfig(level=level, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s " + config["SERVICE_NAME"] + " %(name)s: %(message)s")
    logging.getLogger("kombu").setLevel(logging.WARNING)
    logging.getLogger("amqp").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


BROKER_START_WAIT = 60      # seconds a start waits for a broker that accepts but is slow to answer


def _check_broker_or_exit(uri, wait=None):
    """No broker at the address (refused, unknown host): say how to get one and exit at once.
    A broker that accepts the connection but is slow to answer (busy, starting): wait for it up
    to ``BROKER_START_WAIT_SECONDS`` (default 60), saying so, then exit the same way."""
    from shared.amqp import check_broker, safe_uri
    wait = float(os.environ.get("BROKER_START_WAIT_SECONDS", BROKER_START_WAIT)) if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        try:
            check_broker(uri)
            return
        except ConnectionError as exc:
            slow = "timed out" in str(exc).lower() or isinstance(exc.__cause__, TimeoutError)
            if not slow or time.monotonic() >= deadline:
                print(BROKER_HELP.format(uri=safe_uri(uri), error=exc), file=sys.stderr)
                sys.exit(2)
            logging.getLogger("shared.runner").warning(
                "RabbitMQ at %s is slow to answer (%s); waiting for it", safe_uri(uri), exc)
            time.sleep(1)


def run(service_cls, config=None):
    import eventlet
    from kombu import Connection
    from nameko.runners import ServiceRunner

    from shared.config import WeakSecret, load_config
    from shared.topology import declare_all

    try:
        config = config or load_config(service_cls.name)
    except WeakSecret as exc:         # issue 17: a clear message, no traceback
        print(exc, file=sys.stderr)
        sys.exit(2)
    configure_logging(config)
    log = logging.getLogger("shared.runner")
    _check_broker_or_exit(config["AMQP_URI"])
    with Connection(config["AMQP_URI"]) as conn:
        declare_all(conn)

    runner = ServiceRunner(config)
    runner.add_service(service_cls)

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    runner.start()
    log.info("%s ready", service_cls.name)
    runnlet = eventlet.spawn(runner.wait)
    try:
        runnlet.wait()
    except KeyboardInterrupt:  # pragma: no cover
        runner.stop()


def check_only():
    """Exit 2 with help when the broker is unreachable."""
    from shared.config import load_config
    _check_broker_or_exit(os.environ.get("AMQP_URI") or load_config("meetings", env={})["AMQP_URI"])


# --------------------------------------------------------------------------- images

def image_service(env=None):
    """The service an image runs: SUITE_SERVICE (set from the build argument SERVICE)."""
    name = (env if env is not None else os.environ).get("SUITE_SERVICE", "")
    if name not in SERVICES:
        print(f"SUITE_SERVICE must name one of {', '.join(SERVICES)} (got {name!r})", file=sys.stderr)
        sys.exit(64)
    return name


def serve():
    """Replace this process with ``python -m services.<SUITE_SERVICE>`` (the service's own
    entry module patches eventlet before anything else is imported)."""
    name = image_service()
    os.execv(sys.executable, [sys.executable, "-m", f"services.{name}"])


def health(timeout=8):
    """Exit 0 when the image's service answers as healthy within ``timeout`` seconds, else 1."""
    name = image_service()
    if name == "gateway":
        import urllib.request
        port = os.environ.get("GATEWAY_PORT", "8000")
        try:
            response = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout)
        except OSError as exc:
            print(f"gateway: GET /health failed: {exc}", file=sys.stderr)
            return 1
        return 0 if response.status == 200 else 1
    # as the services' entry modules do: without it, importing eventlet loads its green
    # resolver, seconds of CPU that a busy host turns into a missed healthcheck timeout
    os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
    import warnings
    warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.config import load_config
    proxy = ClusterRpcProxy({"AMQP_URI": load_config(name)["AMQP_URI"]}, timeout=timeout)
    try:
        services = proxy.start()
        answer = getattr(services, name).health()
    except Exception as exc:  # any failure is "unhealthy", named for docker inspect
        print(f"{name}: health RPC failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        proxy.stop()
    return 0 if answer.get("status") == "ok" else 1


# --------------------------------------------------------------------------- make run

def read_procfile(path):
    """[(name, command)] of a Procfile, in order."""
    entries = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, command = line.partition(":")
                entries.append((name.strip(), command.strip()))
    return entries


class Supervisor:
    """Keep every process of a Procfile running: one that exits is started again after a
    back-off (1 s, doubling up to ``max_backoff``, back to 1 s once it has run for
    ``stable_after`` seconds); the others are left alone."""

    def __init__(self, entries, cwd=None, env=None, out=None, max_backoff=30.0, stable_after=60.0):
        self.entries = dict(entries)
        # `python` in the Procfile is this interpreter (the virtualenv's), as under make run
        env = dict(os.environ if env is None else env)
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        self.cwd, self.env = cwd, env
        self.out = out or sys.stdout
        self.max_backoff, self.stable_after = max_backoff, stable_after
        self.procs, self.started, self.backoff, self.restarts = {}, {}, {}, {}
        self.width = max(len(name) for name in self.entries)
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def say(self, name, text):
        stamp = time.strftime("%H:%M:%S")
        with self.lock:
            self.out.write(f"{stamp} {name.ljust(self.width)} | {text}\n")
            self.out.flush()

    def start(self, name):
        proc = subprocess.Popen(self.entries[name], shell=True, cwd=self.cwd, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name], self.started[name] = proc, time.monotonic()
        threading.Thread(target=self._copy, args=(name, proc), daemon=True).start()
        self.say("system", f"{name} started (pid {proc.pid})")

    def _copy(self, name, proc):
        for raw in proc.stdout:
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def run(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: self.stopping.set())
        for name in self.entries:
            self.start(name)
        due = {}
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for name, proc in list(self.procs.items()):
                if name in due or proc.poll() is None:
                    continue
                ran = now - self.started[name]
                delay = 1.0 if ran >= self.stable_after else self.backoff.get(name, 1.0)
                self.backoff[name] = min(delay * 2, self.max_backoff)
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.say("system", f"{name} exited with code {proc.returncode} after {ran:.1f} s; "
                                   f"restarting it in {delay:.0f} s (restart {self.restarts[name]}); "
                                   "the other services keep running")
                due[name] = now + delay
            for name, when in list(due.items()):
                if now >= when:
                    del due[name]
                    self.start(name)
        self.stop()

    def stop(self, timeout=30):
        self.say("system", "stopping every service")
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("system", f"{name} did not stop within {timeout} s: killed")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # the shell of a Procfile line exits at once on SIGTERM while the service it started is
        # still shutting down: wait until each process group is empty, so none outlives us
        for name, proc in self.procs.items():
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _group_alive(proc.pid):
                self.say("system", f"{name} did not stop within {timeout} s: killed")
                os.killpg(proc.pid, signal.SIGKILL)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def main(argv):
    command = argv[0] if argv else "check"
    if command == "check":
        check_only()
    elif command == "serve":
        serve()
    elif command == "health":
        sys.exit(health())
    elif command == "supervise" and len(argv) == 2:
        check_only()
        Supervisor(read_procfile(argv[1])).run()
    else:
        print("usage: python -m shared.runner [check | serve | health | supervise PROCFILE]", file=sys.stderr)
        sys.exit(64)


if __name__ == "__main__":
    main(sys.argv[1:])
