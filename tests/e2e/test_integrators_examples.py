"""The integrators' examples, run as another team would run them: each a separate process
against the real broker and the real suite.

- examples/pika_subscriber.py prints the decision of an end-to-end run with its tally,
  skips a replayed duplicate, dead-letters a malformed event, skips an unknown version;
- examples/webhook_receiver.py, registered through the gateway, receives correctly signed
  notifications from the notifications service and answers a forged request with 401;
- the worked signature example of docs/integrators.md is exact."""
import ast
import base64
import datetime as dt
import hashlib
import hmac
import importlib.util
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pika
import pytest
import requests

from tests.e2e.conftest import login
from tests.e2e.test_integrators_contract import decide, wait_ok
from tests.support.processes import SERVICES, Suite, suite_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SUBSCRIBER = EXAMPLES / "pika_subscriber.py"
RECEIVER = EXAMPLES / "webhook_receiver.py"
GUIDE = ROOT / "docs" / "integrators.md"
CATALOGUE = ROOT / "docs" / "asyncapi.yaml"
QUEUE = "integrator-example"


# ----------------------------------------------------------------------------- without the suite

def test_the_examples_import_nothing_but_the_standard_library_pika_jsonschema_and_yaml():
    allowed = set(sys.stdlib_module_names) | {"pika", "jsonschema", "yaml"}
    for path in (SUBSCRIBER, RECEIVER):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                   for alias in node.names}
        modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}
        assert modules <= allowed, f"{path.name} imports {sorted(modules - allowed)}"
        assert "pika" in modules or path == RECEIVER


def load_receiver_module():
    spec = importlib.util.spec_from_file_location("example_webhook_receiver", RECEIVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guides_worked_signature_example_is_exact():
    block = GUIDE.read_text(encoding="utf-8").split("<!-- signature-example:begin -->", 1)[1]
    block = block.split("<!-- signature-example:end -->", 1)[0]
    fields = dict(re.findall(r"^(secret|key \(hex\)|webhook-id|webhook-timestamp|body|signed content|"
                             r"webhook-signature) +(.+)$", block, flags=re.M))
    assert len(fields) == 7, fields
    key = base64.b64decode(fields["secret"].removeprefix("whsec_"))
    assert key.hex() == fields["key (hex)"]
    signed = f"{fields['webhook-id']}.{fields['webhook-timestamp']}.{fields['body']}"
    assert signed == fields["signed content"]
    mac = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(mac).decode() == fields["webhook-signature"]
    # the example receiver agrees, and so does the Standard Webhooks specification's test vector
    receiver = load_receiver_module()
    assert receiver.sign(key, fields["webhook-id"], fields["webhook-timestamp"], fields["body"].encode()) \
        == fields["webhook-signature"]
    assert receiver.sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}') \
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": fields["webhook-id"], "webhook-timestamp": fields["webhook-timestamp"],
               "webhook-signature": "v1,bm90IGl0 " + fields["webhook-signature"]}
    now = int(fields["webhook-timestamp"])
    assert receiver.verify(key, headers, fields["body"].encode(), now=now + 299) == fields["webhook-id"]
    with pytest.raises(receiver.Invalid):
        receiver.verify(key, headers, fields["body"].encode(), now=now + 301)
    with pytest.raises(receiver.Invalid):
        receiver.verify(key, headers, fields["body"].encode() + b" ", now=now)


# ----------------------------------------------------------------------------- processes

class Process:
    """An example running as its own process; its output lines collected as they come."""

    def __init__(self, args, env=None, cwd=None):
        self.proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
        self.lines, self._queue = [], queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _pump(self, timeout):
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            return True
        if line is None:
            self._queue.put(None)
            return False
        self.lines.append(line)
        return True

    def wait_for(self, pattern, timeout=60):
        """The first output line matching ``pattern`` (a regex), else AssertionError with the output."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                m = rx.search(line)
                if m:
                    return m
            if time.monotonic() > deadline or not self._pump(0.2):
                if any(rx.search(line) for line in self.lines):
                    continue
                raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def wait_exit(self, timeout=60):
        rc = self.proc.wait(timeout)
        while self._pump(1):
            pass
        return rc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def example_env(**extra):
    """A clean environment: the examples get nothing of the suite's."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", **extra)
    return env


@pytest.fixture(scope="module")
def suite_with_private_webhooks(broker, tmp_path_factory):
    """Every service as its own process; notifications allowed to call a receiver on loopback."""
    tmp_path = tmp_path_factory.mktemp("integrators-examples")
    vhost = f"e2e-ex-{uuid.uuid4().hex[:10]}"
    amqp_uri = broker.create_vhost(vhost)
    env = suite_env(amqp_uri, tmp_path)
    s = Suite(env, tmp_path)
    s.amqp_uri = amqp_uri
    s.tmp_path = tmp_path
    for name in SERVICES:
        s.env = {**env, "WEBHOOK_ALLOW_PRIVATE": "1", "DELIVERY_POLL_SECONDS": "0.3"} \
            if name == "notifications" else env
        s.start(name)
    s.env = env
    try:
        s.wait_healthy()
        yield s
    finally:
        s.stop_all()
        broker.delete_vhost(vhost)
        broker.vhosts.remove(vhost)


def publish_to_queue(amqp_uri, bodies):
    """Messages straight into the example's queue (default exchange), as a replay tool would."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        for body in bodies:
            ch.basic_publish("", QUEUE, body.encode() if isinstance(body, str) else body,
                             pika.BasicProperties(content_type="application/json", delivery_mode=2),
                             mandatory=True)
    finally:
        conn.close()


def message_count(amqp_uri, name, expected, timeout=15):
    """The queue's ready count once it equals ``expected`` (quorum queue counts settle shortly)."""
    deadline = time.monotonic() + timeout
    while True:
        conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        try:
            count = conn.channel().queue_declare(name, passive=True).method.message_count
        finally:
            conn.close()
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.3)


def a_result_decided(org_id):
    """A valid result_decided envelope, made up (for the subscriber's own handling rules)."""
    members = [{"person_id": f"p{i}", "presence": "present", "voted": True, "stance": "yes",
                "reserved_opinion": None, "written_opinion": None} for i in range(3)]
    return {
        "event_id": str(uuid.uuid4()), "event_type": "result_decided", "schema_version": 1,
        "occurred_at": "2026-03-02T08:00:00+00:00", "org_id": org_id, "producer": "voting",
        "data": {"decision_id": "dec-synthetic", "ballot_id": "b-1", "meeting_id": "m-1", "agenda_item_id": "t-1",
                 "title": "试运行", "category": "work_plan", "method": "named", "emergency": False, "n": 3,
                 "present": 3, "yes": 3, "no": 0, "abstain": 0, "threshold": 2, "outcome": "passed",
                 "superseded_decision_id": None, "decided_at": "2026-03-02T08:00:00+00:00", "members": members,
                 "a_field_from_the_future": {"ignored": True}},
    }


# ----------------------------------------------------------------------------- the run

def test_the_example_subscriber_and_webhook_receiver_follow_a_real_decision(suite_with_private_webhooks, tmp_path):
    suite = suite_with_private_webhooks
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    receiver = Process([RECEIVER, "--port", "0", "--path", "/hooks/party"],
                       env=example_env(WEBHOOK_SECRET=secret), cwd=tmp_path)
    subscriber = None
    try:
        url = receiver.wait_for(r"listening on (http://\S+)", timeout=20).group(1)
        office, _ = login(suite.base, "office")
        r = office.post("/api/v1/webhooks", json={"url": url, "event_types": ["ballot_opened", "decision_distributed"],
                                                  "secret": secret})
        assert r.status_code == 201, r.text
        assert r.json()["secret"] == secret
        webhook_id = r.json()["webhook_id"]

        dedupe_db = tmp_path / "seen.sqlite"
        subscriber = Process([SUBSCRIBER, "--amqp-uri", suite.amqp_uri, "--queue", QUEUE,
                              "--bind", "voting.events:result_decided", "--schema", CATALOGUE,
                              "--dedupe-db", dedupe_db, "--max-messages", "1", "--idle-timeout", "120"],
                             env=example_env(), cwd=tmp_path)
        subscriber.wait_for(r"^ready queue=integrator-example bindings=voting.events:result_decided$", timeout=30)

        flow = decide(suite.base)
        org_id, decision_id = flow["org_id"], flow["decision_id"]

        # the subscriber printed the decision with its outcome and counts, acked it, and stopped
        assert subscriber.wait_exit(timeout=60) == 0, "\n".join(subscriber.lines)
        line = next((l for l in subscriber.lines if l.startswith("result_decided ")), None)
        assert line is not None, "\n".join(subscriber.lines)
        assert line.startswith(f"result_decided org={org_id} decision={decision_id} outcome=passed "
                               "yes=5 no=1 abstain=1 N=9 present=7 method=named"), line
        assert message_count(suite.amqp_uri, QUEUE, 0) == 0

        # the receiver verified the service's signature on both notification kinds
        receiver.wait_for(rf"^verified ballot_opened webhook-id=\S+ org={org_id} source=ballot_opened ",
                          timeout=60)
        m = receiver.wait_for(rf"^verified decision_distributed webhook-id=(\S+) org={org_id} source=result_decided "
                              rf".* decision={decision_id} outcome=passed yes=5 no=1 abstain=1 N=9 ", timeout=60)
        delivery_id = m.group(1)
        assert not [l for l in receiver.lines if l.startswith("refused")], receiver.lines
        # and the service recorded the 2xx answer as a successful delivery
        log = wait_ok(lambda: office.get(f"/api/v1/deliveries?channel=webhook&webhook_id={webhook_id}"))
        sent = {d["delivery_id"]: d for d in log["items"]}
        assert delivery_id in sent
        deadline = time.monotonic() + 20
        while sent[delivery_id]["status"] != "sent" and time.monotonic() < deadline:
            time.sleep(0.3)
            sent = {d["delivery_id"]: d for d in office.get(
                f"/api/v1/deliveries?channel=webhook&webhook_id={webhook_id}").json()["items"]}
        assert sent[delivery_id]["status"] == "sent", sent[delivery_id]
        assert sent[delivery_id]["log"][-1]["status_code"] == 204

        # forged requests are refused
        body = json.dumps({"type": "decision_distributed",
                           "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
                           "data": {"org_id": org_id, "event": {"decision_id": "forged", "outcome": "failed"}}})
        body = body.encode()
        now = str(int(time.time()))
        wrong_key = hmac.new(os.urandom(32), f"forged-1.{now}.".encode() + body, hashlib.sha256).digest()
        r = requests.post(url, data=body, timeout=10, headers={
            "content-type": "application/json", "webhook-id": "forged-1", "webhook-timestamp": now,
            "webhook-signature": "v1," + base64.b64encode(wrong_key).decode()})
        assert r.status_code == 401, r.text
        key = base64.b64decode(secret.removeprefix("whsec_"))

        def signed(msg_id, ts, payload):
            mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + payload, hashlib.sha256).digest()
            return {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": ts,
                    "webhook-signature": "v1," + base64.b64encode(mac).decode()}

        # a genuine signature on another body, and a genuine but stale one
        r = requests.post(url, data=body + b" ", headers=signed("forged-2", now, body), timeout=10)
        assert r.status_code == 401, r.text
        stale = str(int(time.time()) - 600)
        r = requests.post(url, data=body, headers=signed("forged-3", stale, body), timeout=10)
        assert r.status_code == 401, r.text
        r = requests.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
        assert r.status_code == 400, r.text
        # a correctly signed request is accepted once, its repetition recognised
        genuine = body.replace(b'"forged"', b'"signed-by-the-test"')
        for _ in range(2):
            r = requests.post(url, data=genuine, headers=signed("test-once", now, genuine), timeout=10)
            assert r.status_code == 204, r.text
        receiver.wait_for(r"^duplicate webhook-id=test-once ", timeout=10)
        assert len([l for l in receiver.lines if l.startswith("refused status=401")]) == 3, receiver.lines
        assert not [l for l in receiver.lines if "decision=forged" in l]
        assert len([l for l in receiver.lines if l.startswith("verified") and "webhook-id=test-once" in l
                    and "decision=signed-by-the-test" in l]) == 1

        # a second run of the subscriber on the same queue and de-duplication file
        record = wait_ok(lambda: office.get(f"/api/v1/decisions/{decision_id}/record"))
        replayed = {"event_id": record["source_event_id"], "event_type": "result_decided", "schema_version": 1,
                    "occurred_at": record["created_at"], "org_id": org_id, "producer": "voting",
                    "data": record["content"]}
        fresh = a_result_decided(org_id)
        malformed = a_result_decided(org_id)
        del malformed["data"]["outcome"]
        newer = dict(a_result_decided(org_id), schema_version=2)
        publish_to_queue(suite.amqp_uri, [json.dumps(replayed), json.dumps(fresh), json.dumps(fresh),
                                          json.dumps(malformed), json.dumps(newer), b"not json"])
        again = Process([SUBSCRIBER, "--amqp-uri", suite.amqp_uri, "--queue", QUEUE,
                         "--bind", "voting.events:result_decided", "--schema", CATALOGUE,
                         "--dedupe-db", dedupe_db, "--max-messages", "6", "--idle-timeout", "20"],
                        env=example_env(), cwd=tmp_path)
        assert again.wait_exit(timeout=60) == 0, "\n".join(again.lines)
        out = [l for l in again.lines if not l.startswith(("ready", "stopping"))]
        assert len(out) == 6, "\n".join(again.lines)
        assert out[0].startswith(f"duplicate event_id={record['source_event_id']} "), out   # replay from the archive
        assert out[1].startswith(f"result_decided org={org_id} decision=dec-synthetic outcome=passed yes=3 no=0 "
                                 "abstain=0 N=3"), out                                     # unknown field ignored
        assert out[2].startswith(f"duplicate event_id={fresh['event_id']} "), out
        assert out[3].startswith(f"rejected event_id={malformed['event_id']} ") and "outcome" in out[3], out
        assert out[4].startswith(f"skipped event_id={newer['event_id']} ") and "schema_version=2" in out[4], out
        assert out[5].startswith("rejected ") and "dead letter" in out[5], out
        assert message_count(suite.amqp_uri, QUEUE, 0) == 0
        assert message_count(suite.amqp_uri, f"{QUEUE}.dlq", 2) == 2
    finally:
        receiver.stop()
        if subscriber is not None:
            subscriber.stop()
