"""Stage 3: voting crashes between the commit of a decision and the publish of its events.

To hold voting exactly there, the broker refuses it the right to write to
``voting.events`` (RabbitMQ permissions; RPC goes through ``nameko-rpc`` and keeps
working): ballots are closed over HTTP, voting commits each decision with its events in
its outbox, and every publish attempt is refused, so the rows stay unpublished.  Then
voting is SIGKILLed, the permission given back, voting started again: its outbox relay
must deliver every held event, and each decision must be archived and linked.
"""
import time

from chaos import load


def run(env, org, log=print, decisions=5):
    sec = org.tokens["secretary"]
    ballots = load.prepare(env, org, decisions, log, title="发布者崩溃")
    env.wait_quiet()
    pending_before = env.pending_outbox().get("voting", 0)
    env.stop("voting")
    env.broker.set_write_permission(r"^(?!voting\.events$).*")
    try:
        env.restart("voting")
        env.wait_healthy()
        decision_ids = load.close_all(env, sec, ballots, "publisher")
        time.sleep(3)            # the relay tries (and is refused) a few times
        pending = env.pending_outbox().get("voting", 0) - pending_before
        published_early = env.scalar("archive", "SELECT count(*) FROM records WHERE subject_id = ANY(:ids)",
                                     ids=decision_ids)
        log(f"  {len(decision_ids)} decisions committed, {pending} events held in voting's outbox "
            f"({published_early} archived before the kill); SIGKILL voting")
        env.kill("voting")
    finally:
        env.broker.set_write_permission(".*")
    env.restart("voting")
    env.wait_healthy()
    env.wait_quiet()
    archived = env.scalar("archive", "SELECT count(DISTINCT subject_id) FROM records WHERE subject_id = ANY(:ids)",
                          ids=decision_ids)
    linked = env.scalar("accountability", "SELECT count(DISTINCT decision_id) FROM responsibility_links "
                                          "WHERE decision_id = ANY(:ids)", ids=decision_ids)
    delivered = min(archived, linked)
    log(f"  after restart: {archived} archived, {linked} linked of {len(decision_ids)}; "
        f"voting outbox pending {env.pending_outbox().get('voting')}")
    return {"held": len(decision_ids), "pending_at_kill": pending, "delivered": delivered,
            "decision_ids": decision_ids, "archived_before_kill": published_early}
