"""Routes of the meetings service (M1–M11)."""
from services.gateway import schemas
from services.gateway.access import CHAIRS, own_org
from services.gateway.http import route


class MeetingsRoutes:

    @route("POST", "/api/v1/meetings", roles=CHAIRS, rule="M1", body=schemas.MeetingBody, status=201,
           summary="schedule a meeting", tag="meetings")
    def schedule_meeting(self, actor, body):
        return self.meetings.schedule_meeting(actor.to_dict(), dict(body, org_id=own_org(actor)))

    @route("GET", "/api/v1/meetings/<meeting_id>", summary="a meeting with its agenda and attendance",
           tag="meetings")
    def get_meeting(self, actor, meeting_id):
        return self.meetings.get_meeting(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/topics", roles=CHAIRS, rule="M3", body=schemas.TopicIn,
           status=201, summary="put a topic on the agenda", tag="meetings")
    def add_topic(self, actor, meeting_id, body):
        return self.meetings.add_topic(actor.to_dict(), meeting_id, body)

    @route("POST", "/api/v1/meetings/<meeting_id>/notice", roles=CHAIRS + ("office",), rule="M5",
           summary="issue the meeting notice", tag="meetings")
    def notice_meeting(self, actor, meeting_id):
        return self.meetings.notice_meeting(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/open", roles=CHAIRS, rule="M1", body=schemas.OpenIn,
           summary="open the meeting (quorum M8, leave opinions M9)", tag="meetings")
    def open_meeting(self, actor, meeting_id, body):
        return self.meetings.open_meeting(actor.to_dict(), meeting_id, body)
