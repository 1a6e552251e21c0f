"""Meetings over real RabbitMQ RPC, on SQLite and PostgreSQL."""
import datetime as dt

import pytest

from services.meetings.service import MeetingsService
from shared.errors import RuleViolation
from tests.support.roster import actor, build_org

pytestmark = pytest.mark.integration


def test_emergency_meeting_opens_with_two_thirds_quorum_m8(container_factory, rpc_client, database_url):
    container = container_factory(MeetingsService, database_url=database_url)
    container.start()
    rpc = rpc_client()
    org_id, ids = build_org(rpc.meetings, 9)
    sec = actor(ids[0], org_id, "secretary")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat()
    meeting = rpc.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "emergency",
                                                  "title": "紧急会议", "scheduled_at": when,
                                                  "emergency_reason": "防汛险情"})
    rpc.meetings.add_topic(sec, meeting["meeting_id"], {"title": "防汛", "category": "work_plan"})
    # 5 of 9 present: below ceil(2*9/3) = 6
    with pytest.raises(RuleViolation) as err:
        rpc.meetings.open_meeting(sec, meeting["meeting_id"], {"present": ids[:5]})
    assert err.value.rule == "M8" and "6" in err.value.message
    assert rpc.meetings.get_meeting(sec, meeting["meeting_id"])["status"] == "draft"
    opened = rpc.meetings.open_meeting(sec, meeting["meeting_id"], {"present": ids[:6]})
    assert opened["status"] == "opened" and opened["n"] == 9 and opened["quorum"] == 6
