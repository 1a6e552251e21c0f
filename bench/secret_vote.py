"""Time ``cast_vote`` on a secret ballot over real RPC (V8: each vote sealed under the ballot key).

Starts meetings and voting as nameko containers in this process on a vhost of their own
(SQLite files in a temporary folder, or ``--database-url`` for voting), opens an emergency
meeting of ``--votes`` members all present, a secret ballot, and times each member's vote
from the client: prints the median and the 90th percentile, then closes the ballot and
checks the tally.

    python -m bench.secret_vote --votes 50
"""
import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.common import median, percentile  # noqa: E402
from services.meetings.service import MeetingsService  # noqa: E402
from services.voting.service import VotingService  # noqa: E402
from shared import clock  # noqa: E402
from shared.config import load_config  # noqa: E402
from tests.support.infra import Broker  # noqa: E402
from tests.support.roster import actor, build_org  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="voting's database (default: SQLite in a temporary folder)")
    args = parser.parse_args()

    broker = Broker()
    vhost = f"bench-secret-vote-{uuid.uuid4().hex[:8]}"
    amqp_uri = broker.create_vhost(vhost)
    folder = Path(tempfile.mkdtemp(prefix="secret-vote-"))
    containers = []
    try:
        for cls, url in ((MeetingsService, None), (VotingService, args.database_url)):
            config = load_config(cls.name, env={"AMQP_URI": amqp_uri, "DATA_DIR": str(folder / "data")})
            if url:
                config["DATABASE_URL"] = url
            container = ServiceContainer(cls, config)
            container.start()
            containers.append(container)
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=60) as rpc:
            org_id, ids = build_org(rpc.meetings, args.votes)
            sec = actor(ids[0], org_id, "secretary")
            meeting = rpc.meetings.schedule_meeting(sec, {
                "org_id": org_id, "kind": "emergency", "emergency_reason": "基准测试", "title": "紧急会议",
                "scheduled_at": (clock.now() + dt.timedelta(minutes=5)).isoformat()})
            mid = meeting["meeting_id"]
            tid = rpc.meetings.add_topic(sec, mid, {"title": "计时", "category": "work_plan"})["topic_id"]
            rpc.meetings.open_meeting(sec, mid, {"present": ids, "leave": []})
            bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "secret"})["ballot_id"]
            plan = [random.choice(("yes", "no", "abstain")) for _ in ids]
            times = []
            for i, (pid, choice) in enumerate(zip(ids, plan)):
                role = "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member"
                started = time.perf_counter()
                rpc.voting.cast_vote(actor(pid, org_id, role), bid, {"choice": choice})
                times.append(time.perf_counter() - started)
            decision = rpc.voting.close_ballot(sec, bid)
            assert [decision[c] for c in ("yes", "no", "abstain")] == [plan.count(c) for c in ("yes", "no", "abstain")]
            print(f"cast_vote, secret ballot, {len(times)} votes over RPC: median {median(times) * 1000:.1f} ms, "
                  f"p90 {percentile(times, 90) * 1000:.1f} ms; tally checked ({decision['yes']} yes, "
                  f"{decision['no']} no, {decision['abstain']} abstain)")
    finally:
        for container in reversed(containers):
            container.kill()
        broker.delete_vhost(vhost)
        broker.close()


if __name__ == "__main__":
    main()
