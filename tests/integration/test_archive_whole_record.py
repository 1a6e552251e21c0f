"""The archive keeps the bureau's whole record (A1), on a real RabbitMQ, SQLite and PostgreSQL:
every archived event type becomes one record of its kind with its retention period (永久 / 30 年
/ 10 年, hashed) and classification (A3), in the order received; the chain verifies (A2); a
discipline case is confidential, its reads logged."""
import pytest
import sqlalchemy as sa

from services.archive import domain
from services.archive.service import ArchiveService
from shared.amqp import EventPublisher
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import Forbidden
from tests.integration.test_archive_records import notice
from tests.integration.test_archive_rpc import ORG_A, SEC_A, decision, wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration
MEMBER_A = actor("p-mem-a", ORG_A, "member")
DISCIPLINE_A = actor("p-disc-a", ORG_A, "discipline")


def payload(source, event_type):
    """A minimal payload of each archived event type (its subject and meeting)."""
    if (source, event_type) == ("voting", "result_decided"):
        return decision(1)
    if (source, event_type) == ("meetings", "meeting_noticed"):
        return notice()
    spec = domain.archived_event(source, event_type)
    subject = 2026 if spec.subject_field == "year" else f"{spec.subject_field}-{event_type}"
    return {spec.subject_field: subject, "meeting_id": "m-1", "event": event_type}


@pytest.fixture
def archive(container_factory, rpc_client, database_url):
    container_factory(ArchiveService, database_url=database_url).start()
    return rpc_client().archive


def test_a1_every_archived_event_becomes_a_record_of_its_kind_with_retention(archive, amqp_uri, database_url):
    publishers = {}
    sent = []
    try:
        for source, event_type in domain.ARCHIVED_EVENTS:
            publisher = publishers.setdefault(source, EventPublisher(amqp_uri, source))
            envelope = make_envelope(source, event_type, ORG_A, payload(source, event_type))
            publisher.publish(envelope)
            sent.append((envelope["event_id"], source, event_type))
    finally:
        for publisher in publishers.values():
            publisher.close()
    n = len(sent)
    wait_for(lambda: archive.list_records(MEMBER_A, ORG_A, limit=100)["total"] == n, timeout=30)
    items = archive.list_records(SEC_A, ORG_A, limit=100)["items"]
    by_source = {item["source_event_id"]: item for item in items}
    for event_id, source, event_type in sent:
        spec = domain.archived_event(source, event_type)
        item = by_source[event_id]
        assert item["kind"] == spec.kind, event_type
        assert item["retention"] == domain.retention_of(spec.kind) and item["retention_hashed"] is True
        assert item["retention_label"] in ("永久", "30 年", "10 年")
        assert item["classification"] == spec.classify(item["content"]), event_type
    kinds = {item["kind"] for item in items}
    assert {"topic", "minutes_approval", "document", "case_opened", "accountability_conclusion", "leave",
            "alert", "term", "implementation_progress", "supersession"} <= kinds
    assert archive.verify(SEC_A, ORG_A) == {"org_id": ORG_A, "ok": True, "records": n, "first_bad": None}
    # the retention is hashed: shortening it in the database is found (A1, A2)
    minutes = next(i for i in items if i["kind"] == "minutes")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE records SET retention = '10y' WHERE id = :id"), {"id": minutes["record_id"]})
    finally:
        engine.dispose()
    bad = archive.verify(SEC_A, ORG_A)
    assert bad["ok"] is False and bad["first_bad"]["record_id"] == minutes["record_id"]


def test_a3_a_discipline_case_is_confidential_and_its_reads_are_logged(archive, amqp_uri):
    publisher = EventPublisher(amqp_uri, "accountability")
    try:
        envelope = make_envelope("accountability", "case_opened", ORG_A,
                                 {"case_id": "case-1", "person_id": "p3", "trigger": {"code": 1, "name": "x"}})
        publisher.publish(envelope)
    finally:
        publisher.close()
    wait_for(lambda: archive.list_records(MEMBER_A, ORG_A)["total"] == 1)
    (item,) = archive.list_records(MEMBER_A, ORG_A)["items"]
    assert item["classification"] == "confidential" and item["content"] is None
    with pytest.raises(Forbidden):
        archive.get_record(MEMBER_A, item["record_id"])
    assert archive.get_record(DISCIPLINE_A, item["record_id"])["content"]["case_id"] == "case-1"
    log = archive.read_log(DISCIPLINE_A, ORG_A)["items"]
    assert [(r["person_id"], r["granted"]) for r in log] == [("p-disc-a", True), ("p-mem-a", False)]
