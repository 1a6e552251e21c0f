"""Routes of the meetings service (M1–M11)."""
from services.gateway import schemas
from services.gateway.access import CHAIRS, GROUP_ROLES, org_for_read, own_org
from services.gateway.http import MAX_BODY_BYTES, route

MATERIAL_BODY = 15 * MAX_BODY_BYTES    # a 10 MiB file, base64-encoded, with its JSON around it


class MeetingsRoutes:

    # ------------------------------------------------------------ meetings (M1, M2, M5, M8)

    @route("POST", "/api/v1/meetings", roles=CHAIRS, rule="M1", body=schemas.MeetingBody, status=201,
           summary="schedule a meeting", tag="meetings")
    def schedule_meeting(self, actor, body):
        return self.meetings.schedule_meeting(actor.to_dict(), dict(body, org_id=own_org(actor)))

    @route("GET", "/api/v1/meetings", query=schemas.MeetingListQuery,
           summary="the meeting calendar (from, to: dates in the organization's zone)", tag="meetings")
    def list_meetings(self, actor, query):
        return self.meetings.list_meetings(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                           query["from"], query["to"], query["status"])

    @route("GET", "/api/v1/meetings/<meeting_id>", summary="a meeting with its agenda and attendance",
           tag="meetings")
    def get_meeting(self, actor, meeting_id):
        return self.meetings.get_meeting(actor.to_dict(), meeting_id)

    @route("GET", "/api/v1/meetings/<meeting_id>/history", summary="every transition, with actor and time",
           tag="meetings")
    def meeting_history(self, actor, meeting_id):
        return self.meetings.meeting_history(actor.to_dict(), meeting_id)

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

    @route("POST", "/api/v1/meetings/<meeting_id>/close", roles=CHAIRS, rule="M1", summary="close the meeting",
           tag="meetings")
    def close_meeting(self, actor, meeting_id):
        return self.meetings.close_meeting(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/cancel", roles=CHAIRS, rule="M1", body=schemas.ReasonIn,
           summary="cancel a meeting, with a reason", tag="meetings")
    def cancel_meeting(self, actor, meeting_id, body):
        return self.meetings.cancel_meeting(actor.to_dict(), meeting_id, body)

    @route("POST", "/api/v1/meetings/<meeting_id>/reschedule", roles=CHAIRS, rule="M5", body=schemas.RescheduleIn,
           summary="reschedule a meeting (a new notice is needed, M5)", tag="meetings")
    def reschedule_meeting(self, actor, meeting_id, body):
        return self.meetings.reschedule_meeting(actor.to_dict(), meeting_id, body)

    @route("GET", "/api/v1/meetings/<meeting_id>/quorum", summary="the quorum now (M8)", tag="meetings")
    def quorum_now(self, actor, meeting_id):
        return self.meetings.quorum_now(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/arrivals", roles=CHAIRS + ("confidential_secretary",), rule="M8",
           body=schemas.PersonBody, summary="record a member's arrival during the meeting (M8)", tag="meetings")
    def record_arrival(self, actor, meeting_id, body):
        return self.meetings.record_arrival(actor.to_dict(), meeting_id, body["person_id"])

    @route("POST", "/api/v1/meetings/<meeting_id>/departures", roles=CHAIRS + ("confidential_secretary",),
           rule="M8", body=schemas.PersonBody, summary="record a member's departure during the meeting (M8)",
           tag="meetings")
    def record_departure(self, actor, meeting_id, body):
        return self.meetings.record_departure(actor.to_dict(), meeting_id, body["person_id"])

    @route("POST", "/api/v1/meetings/<meeting_id>/observers", roles=("secretary",), rule="M7",
           body=schemas.ObserverIn, summary="invite an observer (列席, never votes)", tag="meetings")
    def invite_observer(self, actor, meeting_id, body):
        return self.meetings.invite_observer(actor.to_dict(), meeting_id, body)

    # ------------------------------------------------------------ objections and leave (M5, M9)

    @route("POST", "/api/v1/meetings/<meeting_id>/objections", roles=GROUP_ROLES, rule="M5",
           body=schemas.ObjectionIn, status=201, summary="raise an objection at least 24 hours before",
           tag="meetings")
    def raise_objection(self, actor, meeting_id, body):
        return self.meetings.raise_objection(actor.to_dict(), meeting_id, body)

    @route("GET", "/api/v1/meetings/<meeting_id>/objections", rule="M5",
           summary="a meeting's objections with the chair's answers", tag="meetings")
    def list_objections(self, actor, meeting_id):
        return self.meetings.list_objections(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/objections/<objection_id>/disposition", roles=CHAIRS, rule="M5",
           body=schemas.ObjectionDispositionIn, summary="the chair answers an objection, once",
           tag="meetings")
    def dispose_objection(self, actor, objection_id, body):
        return self.meetings.dispose_objection(actor.to_dict(), objection_id, body)

    @route("POST", "/api/v1/meetings/<meeting_id>/leave", roles=GROUP_ROLES, rule="M9",
           body=schemas.LeaveRequestIn, status=201, summary="ask leave, with an opinion on each topic",
           tag="meetings")
    def request_leave(self, actor, meeting_id, body):
        return self.meetings.request_leave(actor.to_dict(), meeting_id, body)

    @route("GET", "/api/v1/meetings/<meeting_id>/leave", summary="leave requests of a meeting", tag="meetings")
    def list_leave(self, actor, meeting_id):
        return self.meetings.list_leave(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/leave/<leave_id>/decision", roles=CHAIRS, rule="M9", body=schemas.LeaveDecisionIn,
           summary="the chair approves or refuses leave", tag="meetings")
    def decide_leave(self, actor, leave_id, body):
        return self.meetings.decide_leave(actor.to_dict(), leave_id, body)

    # ------------------------------------------------------------ topics and materials (M3, M4, V4)

    @route("POST", "/api/v1/topics", roles=GROUP_ROLES, rule="M3", body=schemas.SuggestTopicBody, status=201,
           summary="suggest a topic (members) or propose one (the secretary)", tag="meetings")
    def suggest_topic(self, actor, body):
        meeting_id = body.pop("meeting_id")
        if actor.has("secretary", "deputy_secretary"):
            return self.meetings.propose_topic(actor.to_dict(), meeting_id, body)
        return self.meetings.suggest_topic(actor.to_dict(), meeting_id, body)

    @route("GET", "/api/v1/topics", query=schemas.TopicListQuery, summary="topics of the organization",
           tag="meetings")
    def list_topics(self, actor, query):
        return self.meetings.list_topics(actor.to_dict(), org_for_read(actor, query["org_id"]), query["status"])

    @route("GET", "/api/v1/topics/<topic_id>", summary="a topic with its preparation and materials",
           tag="meetings")
    def get_topic(self, actor, topic_id):
        return self.meetings.get_topic(actor.to_dict(), topic_id)

    @route("POST", "/api/v1/topics/<topic_id>/decision", roles=("secretary",), rule="M3",
           body=schemas.DecideTopicIn, summary="the secretary accepts or rejects a suggested topic",
           tag="meetings")
    def decide_topic(self, actor, topic_id, body):
        return self.meetings.decide_topic(actor.to_dict(), topic_id, body)

    @route("POST", "/api/v1/topics/<topic_id>/schedule", roles=CHAIRS, rule="M3", body=schemas.MeetingRef,
           summary="put an accepted topic on a meeting's agenda", tag="meetings")
    def schedule_topic(self, actor, topic_id, body):
        return self.meetings.schedule_topic(actor.to_dict(), topic_id, body["meeting_id"])

    @route("POST", "/api/v1/topics/<topic_id>/precoordination", rule="M3", body=schemas.PrecoordinationIn,
           summary="record the leader in charge's pre-coordination of a broad topic", tag="meetings")
    def record_precoordination(self, actor, topic_id, body):
        return self.meetings.record_precoordination(actor.to_dict(), topic_id, body)

    @route("POST", "/api/v1/topics/<topic_id>/preparation", rule="M3", body=schemas.PreparationIn,
           summary="record a major decision's research, opinions, risk and legal review", tag="meetings")
    def record_preparation(self, actor, topic_id, body):
        return self.meetings.record_preparation(actor.to_dict(), topic_id, body)

    @route("POST", "/api/v1/topics/<topic_id>/materials", rule="M3", body=schemas.MaterialIn, status=201,
           max_body=MATERIAL_BODY, summary="attach a material (base64; pdf, docx, xlsx, txt, png, jpeg; 10 MiB)",
           tag="meetings")
    def attach_material(self, actor, topic_id, body):
        return self.meetings.attach_material(actor.to_dict(), topic_id, body)

    @route("GET", "/api/v1/materials/<material_id>", summary="a material with its content (base64)",
           tag="meetings")
    def get_material(self, actor, material_id):
        return self.meetings.get_material(actor.to_dict(), material_id)

    @route("POST", "/api/v1/provisional-handlings", roles=GROUP_ROLES, rule="M6", body=schemas.ProvisionalBody,
           status=201, summary="record a matter handled provisionally; it awaits the secretary's approval (M6)",
           tag="meetings")
    def record_provisional_handling(self, actor, body):
        return self.meetings.record_provisional_handling(actor.to_dict(), dict(body, org_id=own_org(actor)))

    @route("GET", "/api/v1/provisional-handlings", query=schemas.HandlingListQuery, rule="M6",
           summary="provisional handlings (status awaiting_approval: the secretary's queue)", tag="meetings")
    def list_provisional_handlings(self, actor, query):
        return self.meetings.list_provisional_handlings(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                                        query["status"])

    @route("POST", "/api/v1/provisional-handlings/<handling_id>/approval", roles=("secretary",), rule="M6",
           summary="the secretary approves a provisional handling; its report goes on the next agenda (M6)",
           tag="meetings")
    def approve_provisional_handling(self, actor, handling_id):
        return self.meetings.approve_provisional_handling(actor.to_dict(), handling_id)

    # ------------------------------------------------------------ terms (§二, M1, M8)

    @route("GET", "/api/v1/appointments", query=schemas.AppointmentListQuery,
           summary="every term of the organization, ended ones included (terms are never deleted)", tag="meetings")
    def list_appointments(self, actor, query):
        # the administrator, who appoints in every organization, reads them all (as the RPC allows)
        org_id = query["org_id"] if actor.has("admin") and query["org_id"] else org_for_read(actor, query["org_id"])
        return self.meetings.list_appointments(actor.to_dict(), org_id, query["person_id"])

    @route("POST", "/api/v1/appointments/<appointment_id>/end", roles=("admin",), rule="M1",
           body=schemas.EndTermIn, summary="end a term on a day, with a reason (removal, transfer, …)",
           tag="meetings")
    def end_term(self, actor, appointment_id, body):
        return self.meetings.end_term(actor.to_dict(), appointment_id, body)

    # ------------------------------------------------------------ minutes and documents (M10)

    @route("POST", "/api/v1/meetings/<meeting_id>/minutes", roles=("confidential_secretary",), rule="M10",
           body=schemas.MinutesIn, summary="record the minutes (confidential secretary)", tag="meetings")
    def record_minutes(self, actor, meeting_id, body):
        return self.meetings.record_minutes(actor.to_dict(), meeting_id, body)

    @route("GET", "/api/v1/meetings/<meeting_id>/minutes", rule="M10", summary="the minutes", tag="meetings")
    def get_minutes(self, actor, meeting_id):
        return self.meetings.get_minutes(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/minutes/approval", roles=CHAIRS, rule="M10",
           summary="the chair approves the minutes", tag="meetings")
    def approve_minutes(self, actor, meeting_id):
        return self.meetings.approve_minutes(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/meetings/<meeting_id>/documents", roles=("office",), rule="M10",
           body=schemas.DocumentIn, status=201, summary="prepare a meeting summary or document for sign-off",
           tag="meetings")
    def issue_document(self, actor, meeting_id, body):
        return self.meetings.issue_document(actor.to_dict(), meeting_id, body)

    @route("POST", "/api/v1/documents/<document_id>/sign-off", roles=("secretary",), rule="M10",
           summary="the secretary signs off and issues a document", tag="meetings")
    def sign_off(self, actor, document_id):
        return self.meetings.sign_off(actor.to_dict(), document_id)

    @route("GET", "/api/v1/documents", query=schemas.DocumentListQuery, rule="M10",
           summary="an organization's numbered documents of a year (〔year〕n号, in number order)", tag="meetings")
    def list_documents(self, actor, query):
        return self.meetings.list_documents(actor.to_dict(), org_for_read(actor, query["org_id"]), query["year"])

    @route("GET", "/api/v1/documents/awaiting-sign-off", roles=("secretary", "office", "confidential_secretary"),
           rule="M10", summary="documents prepared by the office that the secretary has not signed off yet, "
                               "oldest first", tag="meetings")
    def documents_awaiting_sign_off(self, actor):
        return self.meetings.documents_awaiting_sign_off(actor.to_dict(), own_org(actor))

    @route("GET", "/api/v1/documents/<document_id>", rule="M10", summary="a document (within its scope)",
           tag="meetings")
    def get_document(self, actor, document_id):
        return self.meetings.get_document(actor.to_dict(), document_id)

    # ------------------------------------------------------------ democratic life meeting (M11), compliance (M2)

    @route("POST", "/api/v1/meetings/<meeting_id>/democratic-life", rule="M11",
           body=schemas.DemocraticLifeStepIn, status=201, summary="record a step of the democratic life meeting",
           tag="meetings")
    def record_democratic_life_step(self, actor, meeting_id, body):
        return self.meetings.record_democratic_life_step(actor.to_dict(), meeting_id, body)

    @route("GET", "/api/v1/meetings/<meeting_id>/democratic-life", rule="M11",
           summary="the democratic life meeting's steps and rectification", tag="meetings")
    def get_democratic_life(self, actor, meeting_id):
        return self.meetings.get_democratic_life(actor.to_dict(), meeting_id)

    @route("POST", "/api/v1/rectifications/<step_id>/completion", roles=("secretary", "office"), rule="M11",
           body=schemas.CompletionIn, summary="mark a rectification measure completed", tag="meetings")
    def complete_rectification(self, actor, step_id, body):
        return self.meetings.complete_rectification(actor.to_dict(), step_id, body)

    @route("GET", "/api/v1/compliance", query=schemas.MonthQuery, rule="M2",
           summary="findings for a month (M2 monthly meeting, M11 yearly democratic life meeting)", tag="meetings")
    def compliance_check(self, actor, query):
        return {"items": self.meetings.compliance_check(actor.to_dict(), org_for_read(actor, query["org_id"]),
                                                        query["month"])}
