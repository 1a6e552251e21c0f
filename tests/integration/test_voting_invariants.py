"""Issue 16, voting side, over real RabbitMQ RPC on SQLite and PostgreSQL: rules that hold
whatever the order of calls — one decision in force per item (V5, V7, I2).

Every refusal is checked to write nothing.
"""
import pytest

from shared.errors import RuleViolation
from tests.integration.test_voting_rpc import member, suite  # noqa: F401  (suite is a fixture)
from tests.integration.test_voting_rules import meeting, rows, vote

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------- defect 2: a decided item is not voted again

@pytest.mark.parametrize("plan, outcome", [(["yes"] * 5 + ["no"] * 2, "passed"), (["yes"] * 3 + ["no"] * 4, "failed")])
def test_v7_a_decided_item_cannot_be_voted_again_at_will(suite, plan, outcome):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 7, present=range(7), topics=[("采购办法", "organization")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    vote(rpc, ids, org_id, bid, plan)
    first = rpc.voting.close_ballot(sec, bid)
    assert (first["outcome"], first["status"]) == (outcome, "in_force")

    for method in ("named", "secret", "show_of_hands"):
        with pytest.raises(RuleViolation) as err:
            rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": method})
        assert (err.value.rule, err.value.field) == ("V7", "topic_id")
        assert first["decision_id"] in err.value.message
    assert rows(engine, "SELECT count(*) FROM ballots")[0][0] == 1          # nothing written
    assert rows(engine, "SELECT count(*) FROM electorate WHERE ballot_id <> :b", b=bid)[0][0] == 0
    in_force = [d for d in rpc.voting.list_decisions(sec, org_id)["items"] if d["status"] == "in_force"]
    assert [d["decision_id"] for d in in_force] == [first["decision_id"]]
    assert len(tap.wait_for("ballot_opened")) == 1


def test_v7_after_a_passing_reconsideration_the_superseded_decision_names_its_successor(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid, tid_b) = meeting(rpc, 7, present=range(7),
                                                  topics=[("采购办法", "organization"), ("复议", "organization")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 5 + ["no"] * 2)
    old = rpc.voting.close_ballot(sec, bid)
    # V7: the secretary's approved reconsideration reopens the decided item itself
    again = rpc.voting.open_reconsideration(sec, {"decision_id": old["decision_id"], "meeting_id": mid,
                                                  "topic_id": tid, "approved_by_secretary": True,
                                                  "reason": "上级政策调整"})
    vote(rpc, ids, org_id, again["ballot_id"], ["yes"] * 6 + ["no"])
    new = rpc.voting.close_ballot(sec, again["ballot_id"])
    old_now = rpc.voting.get_decision(sec, old["decision_id"])
    assert (old_now["status"], old_now["superseded_by"]) == ("superseded", new["decision_id"])     # I2
    assert (new["status"], new["superseded_decision_id"]) == ("in_force", old["decision_id"])
    with pytest.raises(RuleViolation) as err:          # the item is decided again: only V7 reopens it
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})
    assert err.value.rule == "V7" and new["decision_id"] in err.value.message
    with pytest.raises(RuleViolation) as err:          # a reconsideration of the superseded one: refused
        rpc.voting.open_reconsideration(sec, {"decision_id": old["decision_id"], "meeting_id": mid,
                                              "topic_id": tid_b, "approved_by_secretary": True, "reason": "再议"})
    assert err.value.rule == "V7"
    items = {d["decision_id"]: d["status"] for d in rpc.voting.list_decisions(sec, org_id)["items"]}
    assert items == {old["decision_id"]: "superseded", new["decision_id"]: "in_force"}
