"""Issue 17 defect 6 (A2): a rollback of the archive does not go unseen, on a real RabbitMQ,
SQLite and PostgreSQL.  Deleting the last records and moving the chain head back used to verify
as ok, and the next export signed the shorter chain.  Now verification refuses a chain shorter
than any signed checkpoint, and accountability witnesses every ``checkpoint_signed`` outside the
archive's database, so removing the archive's own checkpoints too is still caught."""
import pytest
import sqlalchemy as sa

from services.accountability.service import AccountabilityService
from services.archive.service import ArchiveService
from shared.amqp import EventPublisher
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import RuleViolation
from tests.integration.test_archive_rpc import ORG_A, SEC_A, decision, wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration


@pytest.fixture
def services(container_factory, rpc_client, database_url):
    container_factory(ArchiveService, database_url=database_url).start()
    container_factory(AccountabilityService).start()          # the witness, with its own database
    rpc = rpc_client()
    return rpc.archive, rpc.accountability


def archive_decisions(archive, amqp_uri, first, last, expect=None):
    publisher = EventPublisher(amqp_uri, "voting")
    try:
        for i in range(first, last + 1):
            publisher.publish(make_envelope("voting", "result_decided", ORG_A, decision(i)))
    finally:
        publisher.close()
    # each decision is archived, and so is the responsibility accountability links to it (C1)
    expect = 2 * last if expect is None else expect
    wait_for(lambda: archive.verify(SEC_A, ORG_A)["records"] == expect, timeout=30)


def roll_back(database_url, keep, drop_checkpoints=False):
    """What an attacker with the archive's database does: drop the tail, move the head back."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            head = conn.execute(sa.text("SELECT hash FROM records WHERE org_id = :o AND seq = :s"),
                                {"o": ORG_A, "s": keep}).scalar_one()
            conn.execute(sa.text("DELETE FROM record_persons WHERE record_id IN "
                                 "(SELECT id FROM records WHERE org_id = :o AND seq > :s)"), {"o": ORG_A, "s": keep})
            conn.execute(sa.text("DELETE FROM records WHERE org_id = :o AND seq > :s"), {"o": ORG_A, "s": keep})
            conn.execute(sa.text("UPDATE chain_heads SET last_seq = :s, last_hash = :h WHERE org_id = :o"),
                         {"o": ORG_A, "s": keep, "h": head})
            if drop_checkpoints:
                conn.execute(sa.text("DELETE FROM checkpoints WHERE org_id = :o"), {"o": ORG_A})
    finally:
        engine.dispose()


def test_a2_a_chain_moved_back_behind_its_signed_checkpoint_is_refused_and_not_signed_again(
        services, amqp_uri, database_url):
    archive, witness = services
    archive_decisions(archive, amqp_uri, 1, 4)
    assert archive.sign_checkpoint(SEC_A, ORG_A)["seq"] == 8
    roll_back(database_url, keep=5)
    assert archive.verify(SEC_A, ORG_A) == {"org_id": ORG_A, "ok": False, "records": 5,
                                            "first_bad": {"seq": 6, "record_id": None,
                                                          "reason": "behind_checkpoint"}}
    with pytest.raises(RuleViolation, match="behind_checkpoint"):
        archive.export(SEC_A, ORG_A)                    # the shorter chain is not signed


def test_a2_the_witness_catches_a_rollback_that_also_removed_the_archives_checkpoints(
        services, amqp_uri, database_url):
    archive, witness = services
    archive_decisions(archive, amqp_uri, 1, 3)
    signed = archive.sign_checkpoint(SEC_A, ORG_A)
    (kept,) = wait_for(lambda: witness.witnessed_checkpoints(SEC_A, ORG_A))
    assert {k: v for k, v in kept.items() if k != "tree_root"} == signed     # as published, signature and all
    roll_back(database_url, keep=1, drop_checkpoints=True)
    # the archive's database alone no longer shows it ...
    assert archive.verify(SEC_A, ORG_A)["ok"] is True
    # ... the witness does (what GET /api/v1/records/verify runs)
    result = archive.verify(SEC_A, ORG_A, witness.witnessed_checkpoints(SEC_A, ORG_A))
    assert result["ok"] is False and result["first_bad"]["reason"] == "behind_checkpoint"
    assert result["witnessed_checked"] == 1
    # a forged "witnessed" checkpoint (not the archive's signature) is not believed
    forged = dict(kept, seq=9, signature=kept["signature"][:-4] + "AAA=")
    fine = archive.verify(SEC_A, ORG_A, [forged])
    assert fine["ok"] is True and fine["witnessed_checked"] == 0


def test_a2_a_checkpoint_signed_after_a_rollback_is_flagged_by_the_witness(services, amqp_uri, database_url):
    """RFC 6962 consistency: each checkpoint_signed carries a proof from the one signed before; the
    witness checks it against the tree root it kept.  A chain rolled back with its checkpoints,
    regrown and signed again has no proof from the witnessed checkpoint: an A2 alert is raised."""
    archive, witness = services
    discipline = actor("p-disc-a", ORG_A, "discipline")
    archive_decisions(archive, amqp_uri, 1, 2)
    archive.sign_checkpoint(SEC_A, ORG_A)                                   # seq 4
    archive_decisions(archive, amqp_uri, 3, 4)
    archive.sign_checkpoint(SEC_A, ORG_A)                                   # seq 8, proof from 4
    witnessed = wait_for(lambda: len(witness.witnessed_checkpoints(SEC_A, ORG_A)) == 2
                         and witness.witnessed_checkpoints(SEC_A, ORG_A))
    assert [c["seq"] for c in witnessed] == [4, 8] and all(len(c["tree_root"]) == 64 for c in witnessed)
    proof = archive.consistency_proof(SEC_A, ORG_A, 4, 8)
    assert proof["first_tree_root"] == witnessed[0]["tree_root"]
    assert proof["second_tree_root"] == witnessed[1]["tree_root"]
    assert not [a for a in witness.list_alerts(discipline, ORG_A)["items"] if a["rule"] == "A2"]
    roll_back(database_url, keep=3, drop_checkpoints=True)
    archive_decisions(archive, amqp_uri, 5, 8, expect=11)   # regrown past the witnessed seq 8 (other records)
    archive.sign_checkpoint(SEC_A, ORG_A)
    alerts = wait_for(lambda: [a for a in witness.list_alerts(discipline, ORG_A)["items"] if a["rule"] == "A2"])
    assert "lost its earlier checkpoints" in alerts[0]["message"]
