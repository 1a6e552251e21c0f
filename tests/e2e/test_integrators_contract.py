"""The integrators' contract, checked the way an integrator would: a plain AMQP client
(pika, nothing of the suite) bound with `#` to every exchange of docs/asyncapi.yaml before
any service starts receives every event of an end-to-end run, each one valid against the
catalogue's JSON Schema, with the documented envelope and AMQP properties.

The test drives the suite through the gateway with the e2e helpers; the consumer side
(declare, bind, get, validate) uses only pika, PyYAML and jsonschema."""
import datetime as dt
import json
import re
import time
import uuid
from pathlib import Path

import jsonschema
import pika
import pytest
import yaml

from tests.e2e.conftest import login
from tests.support.processes import Suite, suite_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "docs" / "asyncapi.yaml"
GUIDE = ROOT / "docs" / "integrators.md"
QUEUE = "integrator-contract"
VOTERS = ["secretary", "deputy", "member1", "member2", "member3", "member4", "member5"]


# ----------------------------------------------------------------- the catalogue, read as an integrator would

def catalogue():
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def channels(doc):
    """{(exchange, routing key): message name}, in document order."""
    out = {}
    for channel in doc["channels"].values():
        amqp = channel["bindings"]["amqp"]
        assert amqp["exchange"]["type"] == "topic" and amqp["exchange"]["durable"] is True
        (ref,) = channel["messages"].values()
        out[(amqp["exchange"]["name"], channel["address"])] = ref["$ref"].rsplit("/", 1)[-1]
    return out


def validator(doc, message):
    """The message's payload schema with the whole document as root, so `#/components/...` resolves."""
    root = dict(doc)
    root["$ref"] = f"#/components/messages/{message}/payload"
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def errors(doc, message, body):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(doc, message).iter_errors(body)]


def guide_table():
    """[(exchange, event type, meaning)] of the guide's event table."""
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split("<!-- events:begin -->", 1)[1].split("<!-- events:end -->", 1)[0]
    return re.findall(r"^\| `([a-z]+\.events)` \| `([a-z_]+)` \| (.*?) \|$", block, flags=re.M)


def expected_table(doc):
    return "\n".join(f"| `{exchange}` | `{key}` | {doc['components']['messages'][name]['summary']} |"
                     for (exchange, key), name in channels(doc).items())


def test_the_guide_lists_exactly_the_catalogued_events():
    doc = catalogue()
    rows = guide_table()
    listed = [(exchange, key) for exchange, key, _ in rows]
    assert len(listed) == len(set(listed)), "an event is listed twice in docs/integrators.md"
    assert all(meaning.strip() for _, _, meaning in rows)
    assert set(listed) == set(channels(doc)), (
        "docs/integrators.md's event table differs from docs/asyncapi.yaml; the catalogue says:\n"
        + expected_table(doc))


# ----------------------------------------------------------------------------- a suite with our queue bound first

@pytest.fixture(scope="module")
def contract_suite(broker, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("integrators-contract")
    vhost = f"e2e-int-{uuid.uuid4().hex[:10]}"
    amqp_uri = broker.create_vhost(vhost)
    exchanges = sorted({exchange for exchange, _ in channels(catalogue())})
    declare_subscriber(amqp_uri, exchanges)          # before any service exists
    env = suite_env(amqp_uri, tmp_path)
    s = Suite(env, tmp_path)
    s.amqp_uri = amqp_uri
    s.start_all()
    try:
        s.wait_healthy()
        yield s
    finally:
        s.stop_all()
        broker.delete_vhost(vhost)
        broker.vhosts.remove(vhost)


def declare_subscriber(amqp_uri, exchanges):
    """What docs/integrators.md tells an integrator to declare, with pika only."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        ch = conn.channel()
        ch.exchange_declare(f"{QUEUE}.dlx", exchange_type="fanout", durable=True)
        ch.queue_declare(f"{QUEUE}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(f"{QUEUE}.dlq", f"{QUEUE}.dlx")
        ch.queue_declare(QUEUE, durable=True, arguments={
            "x-queue-type": "quorum", "x-delivery-limit": 5, "x-dead-letter-exchange": f"{QUEUE}.dlx"})
        for exchange in exchanges:
            # the suite's arguments exactly: the services' own declaration must then agree
            ch.exchange_declare(exchange, exchange_type="topic", durable=True, auto_delete=False)
            ch.queue_bind(QUEUE, exchange, routing_key="#")
    finally:
        conn.close()


def receive(amqp_uri, wanted, timeout=60, settle=3.0):
    """Every delivery on our queue: [(method, properties, body bytes)], acked after reading.

    Waits until every (exchange, key) in ``wanted`` arrived (or ``timeout``), then until the
    queue stays empty for ``settle`` seconds."""
    got = []
    conn = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        ch = conn.channel()
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            method, properties, body = ch.basic_get(QUEUE, auto_ack=False)
            if method is None:
                seen = {(m.exchange, m.routing_key) for m, _, _ in got}
                if wanted <= seen:
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since >= settle:
                        break
                time.sleep(0.2)
                continue
            quiet_since = None
            got.append((method, properties, body))
            ch.basic_ack(method.delivery_tag)
    finally:
        conn.close()
    return got


# ----------------------------------------------------------------------------- the run

def wait_ok(request, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        r = request()
        if r.status_code == 200:
            return r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{r.status_code} {r.text}")
        time.sleep(0.3)


def decide(base):
    """The decision flow of test_decision_flow over HTTP: meeting, topic, notice, open,
    ballot, votes (5 yes, 1 no, 1 abstain of N = 9), close."""
    clients, pid = {}, {}
    for user in VOTERS + ["member6", "member7", "discipline"]:
        clients[user], info = login(base, user)
        pid[user] = info["actor"]["person_id"]
    org_id = info["actor"]["org_id"]
    sec = clients["secretary"]
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).isoformat()
    r = sec.post("/api/v1/meetings", json={"kind": "emergency", "emergency_reason": "突发险情", "title": "党组紧急会议", "scheduled_at": when})
    assert r.status_code == 201, r.text
    meeting_id = r.json()["meeting_id"]
    r = sec.post(f"/api/v1/meetings/{meeting_id}/topics", json={"title": "2027年度工作计划", "category": "work_plan"})
    assert r.status_code == 201, r.text
    topic_id = r.json()["topic_id"]
    r = sec.post(f"/api/v1/meetings/{meeting_id}/notice")
    assert r.status_code == 200, r.text
    r = sec.post(f"/api/v1/meetings/{meeting_id}/open", json={
        "present": [pid[u] for u in VOTERS],
        "leave": [{"person_id": pid["member6"], "opinions": {topic_id: "同意"}}]})
    assert r.status_code == 200, r.text
    r = sec.post("/api/v1/ballots", json={"meeting_id": meeting_id, "topic_id": topic_id, "method": "named"})
    assert r.status_code == 201, r.text
    ballot_id = r.json()["ballot_id"]
    choices = {"secretary": "yes", "deputy": "yes", "member1": "yes", "member2": "yes", "member3": "yes",
               "member4": "no", "member5": "abstain"}
    for user, choice in choices.items():
        body = {"choice": choice}
        if user == "member4":
            body["reserved_opinion"] = "资金来源需进一步论证"
        r = clients[user].post(f"/api/v1/ballots/{ballot_id}/votes", json=body)
        assert r.status_code in (200, 201), (user, r.text)
    r = sec.post(f"/api/v1/ballots/{ballot_id}/close")
    assert r.status_code == 200, r.text
    decision_id = r.json()["decision_id"]
    assert r.json()["outcome"] == "passed"
    return {"org_id": org_id, "meeting_id": meeting_id, "ballot_id": ballot_id, "decision_id": decision_id,
            "clients": clients, "pid": pid}


def follow_up(flow):
    """Implementation assigned and reported, a case opened and concluded on the decision."""
    clients, pid, decision_id = flow["clients"], flow["pid"], flow["decision_id"]
    sec = clients["secretary"]
    # accountability learns of the decision from the event: wait for it before assigning work
    wait_ok(lambda: sec.get(f"/api/v1/decisions/{decision_id}/responsibility"))
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = sec.post(f"/api/v1/decisions/{decision_id}/tasks", json={
        "leader_person_id": pid["member1"], "units": ["住房保障处"], "deadline": deadline, "important": True})
    assert r.status_code == 201, r.text
    r = clients["member1"].post(f"/api/v1/tasks/{r.json()['task_id']}/progress", json={"text": "推进中", "percent": 40})
    assert r.status_code == 200, r.text
    r = clients["discipline"].post("/api/v1/cases", json={"trigger": 2, "decision_id": decision_id,
                                                          "major_error": True, "summary": "决策失误造成损失"})
    assert r.status_code == 201, r.text
    r = clients["discipline"].post(f"/api/v1/cases/{r.json()['case_id']}/conclusion", json={
        "outcomes": {pid["secretary"]: "criticism_education"}, "note": "批评教育"})
    assert r.status_code == 200, r.text


# the event types this run causes (each is in the catalogue); the demo seed records the group's roles
EXPECTED = {
    ("meetings.events", "membership_changed"), ("meetings.events", "meeting_scheduled"),
    ("meetings.events", "topic_accepted"),
    ("meetings.events", "meeting_noticed"), ("meetings.events", "meeting_opened"),
    ("voting.events", "ballot_opened"), ("voting.events", "ballot_closed"), ("voting.events", "result_decided"),
    ("archive.events", "record_archived"),
    ("accountability.events", "responsibility_linked"), ("accountability.events", "implementation_assigned"),
    ("accountability.events", "implementation_reported"), ("accountability.events", "case_opened"),
    ("accountability.events", "case_concluded"),
    ("notifications.events", "notification_delivered"),
}


def test_a_plain_amqp_client_receives_every_event_of_a_run_as_the_catalogue_describes(contract_suite):
    doc = catalogue()
    documented = channels(doc)
    assert EXPECTED <= set(documented)
    flow = decide(contract_suite.base)
    follow_up(flow)

    deliveries = receive(contract_suite.amqp_uri, EXPECTED)
    seen = {(m.exchange, m.routing_key) for m, _, _ in deliveries}
    missing = EXPECTED - seen
    assert not missing, f"never received {sorted(missing)}; received {sorted(seen)}"

    event_ids = []
    for method, props, raw in deliveries:
        where = f"{method.exchange}/{method.routing_key}"
        assert (method.exchange, method.routing_key) in documented, f"undocumented event {where}"
        assert props.content_type == "application/json", where
        assert props.delivery_mode == 2, where
        body = json.loads(raw.decode("utf-8"))
        problems = errors(doc, documented[(method.exchange, method.routing_key)], body)
        assert not problems, f"{where}: " + "; ".join(problems[:5])
        assert body["event_type"] == method.routing_key, where
        assert body["producer"] + ".events" == method.exchange, where
        assert props.message_id == body["event_id"], where
        assert str(uuid.UUID(body["event_id"])) == body["event_id"], where
        occurred = dt.datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
        assert occurred.utcoffset() == dt.timedelta(0), f"{where}: occurred_at not UTC"
        event_ids.append(body["event_id"])
    assert len(event_ids) == len(set(event_ids)), "an event_id was used twice"

    # the facts of this run are in the events, not just their shapes
    decided = [json.loads(raw) for m, _, raw in deliveries if m.routing_key == "result_decided"]
    (result,) = [e for e in decided if e["data"]["decision_id"] == flow["decision_id"]]
    d = result["data"]
    assert result["org_id"] == flow["org_id"]
    assert (d["n"], d["present"], d["yes"], d["no"], d["abstain"], d["outcome"]) == (9, 7, 5, 1, 1, "passed")
    assert (d["meeting_id"], d["ballot_id"]) == (flow["meeting_id"], flow["ballot_id"])
    assert len(d["members"]) == 9

    # and the schema check is not vacuous: the same event, broken, is refused
    message = documented[("voting.events", "result_decided")]
    broken = json.loads(json.dumps(result))
    del broken["data"]["outcome"]
    assert errors(doc, message, broken)
    broken = dict(result, event_id="not-a-uuid", data=dict(d, yes=-1))
    assert len(errors(doc, message, broken)) >= 2
    # while an unknown field is allowed (additive change)
    assert not errors(doc, message, dict(result, data=dict(d, some_future_field=True), extra=1))
