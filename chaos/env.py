"""The chaos run's world: its own RabbitMQ node, a PostgreSQL database per service (as
deployed), every service as a real process (demo seed), and a tap queue bound to every
event exchange before anything publishes (the captured events of the run)."""
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from kombu import Connection, Queue

from chaos.broker import make_broker
from shared.topology import SERVICES as EVENT_SOURCES
from shared.topology import declare_all, event_exchange
from tests.support.infra import Postgres
from tests.support.processes import SERVICES, Suite, suite_env

TAP_QUEUE = "chaos-tap"


class ChaosEnv:
    def __init__(self, log=print, keep=False):
        self.log = log
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
        self.broker = None
        self.postgres = None
        self.db_urls = {}
        self.suite = None
        self.engines = {}
        self.lock = threading.RLock()
        self.supervisor_restarts = []        # (service, exit code) restarted by the supervisor
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ life cycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        self.broker = make_broker(self.log)
        self.amqp_uri = self.broker.amqp_uri
        self.postgres = Postgres()
        for name in SERVICES:
            self.db_urls[name] = self.postgres.create_database(prefix=f"chaos_{name}")
        self.log(f"PostgreSQL: one database per service ({', '.join(SERVICES)})")
        with Connection(self.amqp_uri) as conn:
            declare_all(conn)
            channel = conn.channel()
            Queue(TAP_QUEUE, durable=True, auto_delete=False)(channel).declare()
            for source in EVENT_SOURCES:
                channel.queue_bind(TAP_QUEUE, event_exchange(source).name, routing_key="#")
        env = suite_env(self.amqp_uri, self.tmp,
                        **{f"{name.upper()}_DATABASE_URL": url for name, url in self.db_urls.items()})
        self.suite = Suite(env, self.tmp)
        self.port = self.suite.port
        self.suite.start_all()
        self.suite.wait_healthy(timeout=120)
        threading.Thread(target=self._supervise, daemon=True).start()
        self.log(f"suite healthy on 127.0.0.1:{self.port} (every service its own process)")

    def _supervise(self):
        """What ``restart: unless-stopped`` does in deploy/: a service that exits by itself
        (e.g. started while the broker was away: it refuses to run without one) is started
        again a second later.  Deliberate kills are not seen here (``kill`` removes the
        process until ``restart``)."""
        while not self._stopping.wait(0.5):
            with self.lock:
                exited = [(n, p.returncode) for n, p in list(self.suite.procs.items()) if p.poll() is not None]
            for name, code in exited:
                time.sleep(1.0)
                with self.lock:
                    proc = self.suite.procs.get(name)
                    if self._stopping.is_set() or proc is None or proc.poll() is None:
                        continue
                    self.suite.procs.pop(name)
                    self.suite.start(name)
                    self.supervisor_restarts.append((name, code))
                self.log(f"    supervisor: {name} had exited ({code}); started again")

    def wait_healthy(self, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.lock:
                    procs = dict(self.suite.procs)
                alive = all(p.poll() is None for p in procs.values()) and len(procs) == len(SERVICES)
                if alive and self.suite.wait_healthy(timeout=3):
                    return True
            except RuntimeError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"suite not healthy within {timeout} s")
            time.sleep(0.5)

    def close(self):
        self._stopping.set()
        steps = [lambda: self.suite and self.suite.stop_all(),
                 lambda: [e.dispose() for e in self.engines.values()],
                 lambda: self.postgres and self.postgres.close(),
                 lambda: self.broker and self.broker.close(),
                 lambda: self.keep or shutil.rmtree(self.tmp, ignore_errors=True)]
        for step in steps:
            try:
                step()
            except BaseException as exc:     # every step runs, whatever the one before did
                self.log(f"cleanup step failed: {exc!r}")

    # ------------------------------------------------------------------ processes
    def kill(self, name):
        """SIGKILL one service (its process group), as a crash would."""
        with self.lock:
            self.suite.stop(name, sig=signal.SIGKILL)

    def stop(self, name):
        with self.lock:
            self.suite.stop(name)

    def restart(self, name):
        with self.lock:
            self.suite.start(name)

    def logs(self):
        return {name: self.suite.log(name) for name in SERVICES}

    # ------------------------------------------------------------------ databases
    def engine(self, name):
        if name not in self.engines:
            self.engines[name] = sa.create_engine(self.db_urls[name], poolclass=sa.pool.NullPool)
        return self.engines[name]

    def scalar(self, name, sql, **params):
        with self.engine(name).connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def rows(self, name, sql, **params):
        with self.engine(name).connect() as conn:
            return conn.execute(sa.text(sql), params).all()

    def pending_outbox(self):
        return {name: self.scalar(name, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
                for name in SERVICES if name != "gateway" and self._has_table(name, "outbox")}

    def _has_table(self, name, table):
        return sa.inspect(self.engine(name)).has_table(table)

    # ------------------------------------------------------------------ broker
    def wait_quiet(self, timeout=300, settle=2.0):
        """Every outbox relayed and every handler queue empty (dead-letter queues and the tap
        aside), twice in a row ``settle`` s apart: the consumers have caught up."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            try:
                queues = self.broker.queues()
                busy = {n: q.get("messages", 0) for n, q in queues.items()
                        if n.startswith("evt-") and not n.endswith(".dlq") and q.get("messages", 0)}
                pending = {n: c for n, c in self.pending_outbox().items() if c}
            except Exception as exc:       # broker or database briefly away
                busy, pending = {"?": str(exc)}, {}
            if not busy and not pending:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.5)
        raise RuntimeError(f"not quiet after {timeout} s: queues {busy}, outboxes {pending}")

    def handler_consumers(self):
        return {n: q.get("consumers", 0) for n, q in self.broker.queues().items()
                if n.startswith("evt-") and not n.endswith(".dlq")}
