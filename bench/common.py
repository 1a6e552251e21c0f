"""What the suite benchmarks share: start the suite and the bare baseline as
processes on their own vhosts, a keep-alive JSON client, a bounded closed-loop
load generator, percentiles, process memory and start-up timing.

Every load goes to 127.0.0.1, is bounded in time and in count, and stops by itself.
"""
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kombu import Connection, Exchange, Producer, Queue  # noqa: E402

from shared.config import database_url  # noqa: E402
from tests.support.enrolment import code_from_inbox  # noqa: E402
from tests.support.infra import Broker  # noqa: E402
from tests.support.processes import SERVICES, Suite, free_port, suite_env  # noqa: E402

DEMO_PASSWORD = "demo-password-2026"
ADMIN_PASSWORD = "bench-password-2026"
VOTERS = ["secretary", "deputy", "member1", "member2", "member3", "member4", "member5"]
GROUP = ["secretary", "deputy"] + [f"member{i}" for i in range(1, 8)]


# ------------------------------------------------------------------ statistics

def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values):
    return statistics.median(values) if values else float("nan")


def fmt_ms(seconds):
    return f"{seconds * 1000:.1f}"


# ------------------------------------------------------------------ HTTP

class Http:
    """One keep-alive connection to 127.0.0.1 (one per thread), JSON in and out."""

    def __init__(self, port, token=None, timeout=30):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None):
        headers = {"Connection": "keep-alive"}
        token = token or self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)


def expect(result, *statuses):
    status, body = result
    if status not in statuses:
        raise RuntimeError(f"unexpected HTTP {status}: {body!r}"[:600])
    return body


def login(port, username, password=DEMO_PASSWORD, timeout=60):
    deadline = time.monotonic() + timeout
    client = Http(port)
    while True:
        status, body = client.post("/api/v1/auth/login", {"username": username, "password": password})
        if status == 200:
            client.close()
            return body["token"], body.get("actor", {})
        if time.monotonic() > deadline:
            raise RuntimeError(f"login {username}: {status} {body!r}")
        time.sleep(0.5)


def parallel(items, fn, workers=8):
    """Run ``fn(http, item)`` over items on ``workers`` threads (each its own connection)."""
    items = list(items)
    results = [None] * len(items)
    lock = threading.Lock()
    cursor = [0]
    errors = []

    def work(port):
        client = Http(port)
        while True:
            with lock:
                if cursor[0] >= len(items) or errors:
                    break
                i = cursor[0]
                cursor[0] += 1
            try:
                results[i] = fn(client, items[i])
            except Exception as exc:      # stop everyone; re-raised below
                errors.append(exc)
        client.close()
    return work, results, errors


def run_parallel(port, items, fn, workers=8):
    work, results, errors = parallel(items, fn, workers)
    threads = [threading.Thread(target=work, args=(port,), daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# ------------------------------------------------------------------ load

class LoadResult:
    def __init__(self, name, latencies, errors, elapsed, exhausted=False):
        self.name, self.latencies, self.errors, self.elapsed = name, latencies, errors, elapsed
        self.exhausted = exhausted

    @property
    def count(self):
        return len(self.latencies)

    @property
    def rate(self):
        return self.count / self.elapsed if self.elapsed else 0.0

    def p(self, q):
        return percentile(self.latencies, q)


def closed_loop(name, port, make_request, clients=20, duration=15.0, max_requests=None):
    """``clients`` threads, each with its own keep-alive connection, send requests
    back to back for ``duration`` seconds (or until ``make_request`` returns None,
    i.e. the prepared work is used up, or ``max_requests`` are done).

    ``make_request(i)`` returns (method, path, body, token, ok_statuses) or None.
    """
    latencies, errors = [], []
    lock = threading.Lock()
    counter = [0]
    exhausted = [False]
    start = time.perf_counter()
    stop_at = start + duration
    ends = []

    def work():
        client = Http(port)
        while time.perf_counter() < stop_at:
            with lock:
                i = counter[0]
                counter[0] += 1
            if max_requests is not None and i >= max_requests:
                break
            spec = make_request(i)
            if spec is None:
                exhausted[0] = True
                break
            method, path, body, token, ok = spec
            t0 = time.perf_counter()
            try:
                status, answer = client.request(method, path, body=body, token=token)
            except Exception as exc:
                status, answer = None, repr(exc)
            t1 = time.perf_counter()
            with lock:
                if status in ok:
                    latencies.append(t1 - t0)
                else:
                    errors.append((status, str(answer)[:200]))
        with lock:
            ends.append(time.perf_counter())
        client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    elapsed = (max(ends) if ends else time.perf_counter()) - start
    return LoadResult(name, latencies, errors, elapsed, exhausted[0])


# ------------------------------------------------------------------ processes

def rss_mb(pid, field="VmRSS"):
    """Resident memory of a process in MB (``field="VmHWM"``: its peak so far)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


class RpcProbe:
    """A minimal nameko RPC client (kombu only): ask ``<service>.health`` and time the answer."""

    def __init__(self, amqp_uri):
        self.conn = Connection(amqp_uri)
        self.channel = self.conn.channel()
        self.exchange = Exchange("nameko-rpc", type="topic", durable=True, auto_delete=False)
        self.exchange(self.channel).declare()
        self.reply_queue = f"rpc.reply-bench-{uuid.uuid4().hex[:8]}"
        self.queue = Queue(self.reply_queue, exchange=self.exchange, routing_key=self.reply_queue,
                           exclusive=True, auto_delete=True)
        self.queue(self.channel).declare()
        self.producer = Producer(self.channel)
        self.answers = {}
        self.pending = {}
        self.consumer = self.conn.Consumer(self.queue, callbacks=[self._on_reply], accept=["json"])
        self.consumer.consume()

    def _on_reply(self, body, message):
        cid = message.properties.get("correlation_id")
        if cid in self.pending and (body or {}).get("error") is None:
            self.answers.setdefault(self.pending[cid], time.monotonic())
        message.ack()

    def ask(self, service):
        cid = uuid.uuid4().hex
        self.pending[cid] = service
        self.producer.publish({"args": [], "kwargs": {}}, exchange=self.exchange,
                              routing_key=f"{service}.health", reply_to=self.reply_queue,
                              correlation_id=cid, serializer="json", mandatory=False,
                              expiration=2)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.conn.drain_events(timeout=max(0.001, end - time.monotonic()))
            except (TimeoutError, OSError):
                pass
            except Exception:
                break

    def close(self):
        try:
            self.consumer.cancel()
        finally:
            self.conn.release()


def http_answers(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/openapi.json")         # answered by the gateway alone, no RPC
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


def start_with_timing(names, start_fn, amqp_uri, log_of, timeout=90, http_ports=None):
    """Start processes with ``start_fn(name) -> Popen``; measure, per service, the
    seconds from process start to "<name> ready" in its log and to answering its
    ``health`` RPC (for a name in ``http_ports``: an answer of ``GET /openapi.json`` on that
    port, which needs no other service), and the CPU seconds it used until ready (what to
    compare on a busy machine).  Returns {name: {"pid", "ready_s", "health_s", "cpu_s"}}."""
    http_ports = http_ports or {}
    probe = RpcProbe(amqp_uri)
    started, procs, cpu = {}, {}, {}
    for name in names:
        started[name] = time.monotonic()
        procs[name] = start_fn(name)
    ready = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and (len(ready) < len(names) or len(probe.answers) < len(names)):
            for name in names:
                if procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {procs[name].returncode}:\n{log_of(name)[-3000:]}")
                if name not in ready and f"{rpc_name(name)} ready" in log_of(name):
                    ready[name] = time.monotonic()
                    cpu[name] = cpu_seconds(procs[name].pid)
                if rpc_name(name) in probe.answers:
                    continue
                if name in http_ports:
                    if http_answers(http_ports[name]):
                        probe.answers[rpc_name(name)] = time.monotonic()
                else:
                    probe.ask(rpc_name(name))
            probe.pump(0.05)
    finally:
        probe.close()
    out = {}
    for name in names:
        answered = probe.answers.get(rpc_name(name))
        out[name] = {"pid": procs[name].pid,
                     "ready_s": ready[name] - started[name] if name in ready else float("nan"),
                     "health_s": answered - started[name] if answered else float("nan"),
                     "cpu_s": cpu.get(name, float("nan"))}
    return out


def cpu_seconds(pid):
    """CPU time (user + system) a process has used so far, from /proc (nan where unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def rpc_name(name):
    return {"http": "bare_http"}.get(name, name)


class Environment:
    """The suite (every service a process, own vhost, SQLite in a temp dir, demo seed)
    and, optionally, the bare baseline (own vhost)."""

    def __init__(self, baseline=True, keep_logs=False):
        self.baseline = baseline
        self.keep_logs = keep_logs
        self.broker = Broker()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))
        self.suite = None
        self.bare = {}
        self.timing = {}

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
        vhost = f"bench-{uuid.uuid4().hex[:10]}"
        self.amqp_uri = self.broker.create_vhost(vhost)
        env = suite_env(self.amqp_uri, self.tmp)
        self.suite = Suite(env, self.tmp)
        self.port = self.suite.port
        self.timing.update(start_with_timing(list(SERVICES), self.suite.start, self.amqp_uri, self.suite.log,
                                             http_ports={"gateway": self.port}))
        self.suite.wait_healthy()
        if self.baseline:
            bare_vhost = f"bench-bare-{uuid.uuid4().hex[:10]}"
            self.bare_uri = self.broker.create_vhost(bare_vhost)
            self.bare_port = free_port()
            self.timing.update(start_with_timing(["echo", "http"], self._start_bare, self.bare_uri, self._bare_log))

    def _start_bare(self, name):
        env = dict(os.environ, AMQP_URI=self.bare_uri, WEB_SERVER_ADDRESS=f"127.0.0.1:{self.bare_port}",
                   MAX_WORKERS="20" if name == "http" else "10", PYTHONUNBUFFERED="1")
        log = open(self.tmp / f"bare-{name}.log", "ab")
        self.bare[name] = subprocess.Popen([sys.executable, "-m", "bench.baseline_services", name], cwd=ROOT,
                                           env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self.bare[name]

    def _bare_log(self, name):
        path = self.tmp / f"bare-{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def notifications_db(self):
        """The notifications service's database (enrolment codes reach the inbox there)."""
        return database_url("notifications", self.suite.env)

    def pids(self):
        out = {name: proc.pid for name, proc in (self.suite.procs.items() if self.suite else [])}
        out.update({f"bare_{name}": proc.pid for name, proc in self.bare.items()})
        return out

    def memory(self, field="VmRSS"):
        return {name: rss_mb(pid, field) for name, pid in self.pids().items()}

    def close(self):
        for name, proc in list(self.bare.items()):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        if self.suite is not None:
            self.suite.stop_all()
        self.broker.close()
        if not self.keep_logs:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------ domain fixtures over HTTP

def when(minutes=30):
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)).isoformat()


class Org:
    """An organization's tokens and person ids (the demo one, or one made by the bench)."""

    def __init__(self, org_id, tokens, pids):
        self.org_id, self.tokens, self.pids = org_id, tokens, pids

    @classmethod
    def demo(cls, port):
        tokens, pids = {}, {}
        for user in GROUP:
            tokens[user], actor = login(port, user)
            pids[user] = actor["person_id"]
        return cls(actor["org_id"], tokens, pids)


def prepare_ballots(port, org, meetings, topics_per_meeting, workers=8, title="bench"):
    """Emergency meetings (no 48 h notice) with topics, noticed and opened with the
    seven voters present, one open named ballot per topic.  Returns
    [(meeting_id, ballot_id)]."""
    sec = org.tokens["secretary"]

    def make_meeting(client, k):
        m = expect(client.post("/api/v1/meetings", {"kind": "emergency", "emergency_reason": "突发险情", "title": f"{title} {k}",
                                                    "scheduled_at": when()}, token=sec), 201)["meeting_id"]
        topics = [expect(client.post(f"/api/v1/meetings/{m}/topics",
                                     {"title": f"{title} {k}.{j}", "category": "work_plan"}, token=sec),
                         201)["topic_id"] for j in range(topics_per_meeting)]
        expect(client.post(f"/api/v1/meetings/{m}/notice", token=sec), 200)
        expect(client.post(f"/api/v1/meetings/{m}/open", {"present": [org.pids[u] for u in VOTERS]},
                           token=sec), 200)
        return m, topics

    made = run_parallel(port, range(meetings), make_meeting, workers)
    pairs = [(m, t) for m, topics in made for t in topics]

    def open_ballot(client, pair):
        m, t = pair
        b = expect(client.post("/api/v1/ballots", {"meeting_id": m, "topic_id": t, "method": "named"}, token=sec),
                   201)["ballot_id"]
        return m, b
    return run_parallel(port, pairs, open_ballot, workers)


def cast_votes(port, org, ballots, voters, workers=8, choice="yes"):
    jobs = [(b, u) for _, b in ballots for u in voters]

    def vote(client, job):
        b, u = job
        expect(client.post(f"/api/v1/ballots/{b}/votes", {"choice": choice}, token=org.tokens[u]), 200, 201)
    run_parallel(port, jobs, vote, workers)


def make_org(port, admin_token, k, workers=4, notifications_db=None):
    """An extra organization with a full group of nine (secretary, deputy, seven members) and their accounts.

    Each member binds their own account with the enrolment code the notifications service put
    in their inbox (``notifications_db``: that service's database URL)."""
    org_id = f"bench-org-{k:02d}-{uuid.uuid4().hex[:6]}"
    c = Http(port, admin_token)
    expect(c.post("/api/v1/organizations", {"name": f"基准测试党组{k}", "org_id": org_id}), 201)
    pids = {}
    for user in GROUP:
        pid = f"{org_id}-{user}"
        expect(c.post("/api/v1/persons", {"name": f"{user}{k}", "person_id": pid}), 201)
        role = {"secretary": "secretary", "deputy": "deputy_secretary"}.get(user, "member")
        expect(c.post("/api/v1/appointments", {"org_id": org_id, "person_id": pid, "role": role,
                                               "start_date": "2020-01-01"}), 201)
        pids[user] = pid
    c.close()

    def account(client, user):
        expect(client.post("/api/v1/enrolments", {"person_id": pids[user], "org_id": org_id}, token=admin_token), 201)
        code = code_from_inbox(notifications_db, pids[user])
        expect(client.post("/api/v1/enrolments/redeem", {"code": code, "username": f"{org_id}-{user}",
                                                         "password": ADMIN_PASSWORD}), 201)
        return login(port, f"{org_id}-{user}", ADMIN_PASSWORD)[0]
    if notifications_db is None:
        raise ValueError("make_org: notifications_db (where the enrolment codes arrive) is required")
    tokens = dict(zip(GROUP, run_parallel(port, GROUP, account, workers)))
    return Org(org_id, tokens, pids)


def grow(port, orgs=10, decisions_per_org=50, workers=8, log=print, notifications_db=None):
    """Add ``orgs`` organizations, each with ``decisions_per_org`` decided ballots
    (five yes votes, closed), archived and linked by the services."""
    admin = login(port, "admin")[0]
    t0 = time.perf_counter()
    made = []
    for k in range(orgs):
        org = make_org(port, admin, k, notifications_db=notifications_db)
        per_meeting = 10
        ballots = prepare_ballots(port, org, max(1, decisions_per_org // per_meeting), per_meeting, workers,
                                  title="历史议题")
        cast_votes(port, org, ballots, VOTERS[:5], workers)
        sec = org.tokens["secretary"]
        run_parallel(port, ballots, lambda c, mb: expect(c.post(f"/api/v1/ballots/{mb[1]}/close", token=sec), 200),
                     workers)
        made.append(org)
        log(f"  grown: organization {k + 1}/{orgs} with {len(ballots)} decisions "
            f"({time.perf_counter() - t0:.0f} s)")
    return made


def wait_drained(amqp_uri, broker, timeout=120):
    """Wait until no queue of the vhost holds a message (the consumers caught up)."""
    import urllib.parse
    vhost = urllib.parse.urlsplit(amqp_uri).path[1:]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = broker._api("GET", f"/api/queues/{vhost}?columns=name,messages")
        if r.status_code == 200 and all(q.get("messages", 0) == 0 for q in r.json()
                                        if not q["name"].endswith(".dlq") and not q["name"].startswith("bench")):
            return True
        time.sleep(1)
    return False
