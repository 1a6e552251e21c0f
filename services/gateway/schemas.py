"""Request schemas of the HTTP API.

Bodies the services already define are reused as they are; where the gateway
fills a field from the session (the organization), that field is excluded.
"""
from marshmallow import Schema, fields, validate

from services.gateway.auth import MIN_PASSWORD_LENGTH
from services.accountability import schemas as accountability
from services.archive import schemas as archive
from services.meetings import schemas as meetings
from services.notifications import schemas as notifications
from services.voting import schemas as voting
from shared.validation import Line

ID = validate.Length(min=1, max=64)

# reused unchanged
OrganizationIn = meetings.OrganizationIn
PersonIn = meetings.PersonIn
AppointmentIn = meetings.AppointmentIn
TopicIn = meetings.TopicIn
OpenIn = meetings.OpenIn
OpenBallotIn = voting.OpenBallotIn
CastVoteIn = voting.CastVoteIn


class MeetingBody(meetings.MeetingIn):
    """``MeetingIn`` without ``org_id``: a meeting is scheduled in the caller's organization."""
    class Meta:
        exclude = ("org_id",)


class LoginIn(Schema):
    username = Line(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class AccountIn(Schema):
    username = Line(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024))
    person_id = fields.String(required=True, validate=ID)
    org_id = fields.String(load_default=None, allow_none=True, validate=ID)
    is_admin = fields.Boolean(load_default=False)


class EnrolmentIn(Schema):
    """Issue 17: a one-time enrolment code for a person holding a role (sent to them, never answered)."""
    person_id = fields.String(required=True, validate=ID)
    org_id = fields.String(load_default=None, allow_none=True, validate=ID)


class RedeemEnrolmentIn(Schema):
    """Issue 17: the person binds an account to themselves with the code they received."""
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    username = Line(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024))


class AuditQuery(Schema):
    person_id = fields.String(load_default=None, validate=ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class RecordsQuery(PageQuery):
    """Search of the archive (A1); ``org_id`` other than one's own for cross-org readers only."""
    org_id = fields.String(load_default=None, validate=ID)
    kind = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    meeting_id = fields.String(load_default=None, validate=ID)
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    person_id = fields.String(load_default=None, validate=ID)


class RecordSearchQuery(RecordsQuery):
    """Keyset paging: ``cursor`` is the previous page's ``next_cursor`` (``offset`` only for old callers)."""
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class VerifyQuery(Schema):
    org_id = fields.String(load_default=None, validate=ID)


class NotificationsQuery(PageQuery):
    """Keyset paging: ``cursor`` is the previous page's ``next_cursor`` (``offset`` only for old callers)."""
    unread_only = fields.Boolean(load_default=False)
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class MembersQuery(Schema):
    on = fields.Date(load_default=None)


# ---------------------------------------------------------------- documented answers

class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field = fields.String(allow_none=True)
    rule = fields.String(allow_none=True, metadata={"description": "the SPEC rule ID, e.g. M8"})


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class ActorOut(Schema):
    person_id = fields.String()
    org_id = fields.String(allow_none=True)
    roles = fields.List(fields.String())


class LoginOut(Schema):
    token = fields.String()
    expires_at = fields.DateTime()
    actor = fields.Nested(ActorOut)


class HealthOut(Schema):
    status = fields.String(validate=validate.OneOf(("ok", "degraded")))
    services = fields.Dict(keys=fields.String(), values=fields.String())


# ---------------------------------------------------------------- notifications (N1–N2)


ContactIn = notifications.ContactIn
PreferencesIn = notifications.PreferencesIn
WebhookIn = notifications.WebhookIn


class DeliveriesQuery(notifications.DeliveriesQuery, PageQuery):
    """Keyset paging: ``cursor`` is the previous page's ``next_cursor`` (``offset`` only for old callers)."""
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class OrgQuery(Schema):
    org_id = fields.String(load_default=None, validate=ID)


class SearchQuery(OrgQuery):
    """Issue 19: the text searched for in titles (meetings, topics, decisions)."""
    q = Line(required=True, validate=validate.Length(min=1, max=100))


# ---------------------------------------------------------------- accountability (C4–C7)

AssignImplementationIn = accountability.AssignImplementationIn
ReportProgressIn = accountability.ReportProgressIn
SuperviseIn = accountability.SuperviseIn
PostponeIn = accountability.PostponeIn
NotExecutableIn = accountability.NotExecutableIn
ConcludeCaseIn = accountability.ConcludeCaseIn
FileDutyIn = accountability.FileDutyIn
AcknowledgeAlertIn = accountability.AcknowledgeAlertIn


class OpenCaseBody(accountability.OpenCaseIn):
    """``org_id`` defaults to the caller's organization."""
    org_id = fields.String(load_default=None, validate=ID)


class CreateDutyBody(accountability.CreateDutyIn):
    """``org_id`` defaults to the caller's organization."""
    org_id = fields.String(load_default=None, validate=ID)


class TaskListQuery(OrgQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(("red", "yellow", "green", "closed")))


class CaseListQuery(OrgQuery):
    status = fields.String(load_default=None, validate=validate.Length(min=1, max=20))


class DutyListQuery(OrgQuery):
    year = fields.Integer(load_default=None, validate=validate.Range(min=1949, max=2200))
    status = fields.String(load_default=None, validate=validate.OneOf(("due", "overdue", "filed")))


class AlertListQuery(OrgQuery):
    open_only = fields.Boolean(load_default=True)


class LifetimeQuery(PageQuery):
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


# ---------------------------------------------------------------- voting (V2–V7)

CloseBallotIn = voting.CloseBallotIn
DeferBallotIn = voting.DeferBallotIn
RecordVotesIn = voting.RecordVotesIn
ReservedOpinionIn = voting.ReservedOpinionIn
ReconsiderationIn = voting.ReconsiderationIn
ConflictIn = voting.ConflictIn
PolicyIn = voting.PolicyIn


class BallotListQuery(Schema):
    meeting_id = fields.String(required=True, validate=ID)


class DecisionListQuery(OrgQuery, PageQuery):
    """Keyset paging: ``cursor`` is the previous page's ``next_cursor`` (``offset`` only for old callers)."""
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


# ---------------------------------------------------------------- meetings (M1–M11)

DecideTopicIn = meetings.DecideTopicIn
PrecoordinationIn = meetings.PrecoordinationIn
PreparationIn = meetings.PreparationIn
MaterialIn = meetings.MaterialIn
ObjectionIn = meetings.ObjectionIn
LeaveRequestIn = meetings.LeaveRequestIn
LeaveDecisionIn = meetings.LeaveDecisionIn
ObjectionDispositionIn = meetings.ObjectionDispositionIn
ObserverIn = meetings.ObserverIn
ReasonIn = meetings.ReasonIn
RescheduleIn = meetings.RescheduleIn
MinutesIn = meetings.MinutesIn
DocumentIn = meetings.DocumentIn
DemocraticLifeStepIn = meetings.DemocraticLifeStepIn
CompletionIn = meetings.CompletionIn


class ProvisionalBody(meetings.ProvisionalIn):
    """``ProvisionalIn`` without ``org_id``: recorded in the caller's organization."""
    class Meta:
        exclude = ("org_id",)


class SuggestTopicBody(meetings.TopicIn):
    """A topic suggested or proposed, for a meeting or (``meeting_id`` null) for later."""
    meeting_id = fields.String(load_default=None, allow_none=True, validate=ID)


class PersonBody(Schema):
    person_id = fields.String(required=True, validate=ID)


class MeetingListQuery(OrgQuery):
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    status = fields.String(load_default=None, validate=validate.OneOf(
        ("draft", "noticed", "opened", "closed", "minutes_approved", "cancelled")))


class DocumentListQuery(OrgQuery):
    """M10: the register of issue numbers of one year."""
    year = fields.Integer(required=True, validate=validate.Range(min=1900, max=9999))


EndTermIn = meetings.EndTermIn


class HandlingListQuery(OrgQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(("awaiting_approval", "approved")))


class AppointmentListQuery(OrgQuery):
    person_id = fields.String(load_default=None, validate=ID)


class TopicListQuery(OrgQuery):
    status = fields.String(load_default=None, validate=validate.Length(min=1, max=20))


class MonthQuery(OrgQuery):
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))


class MeetingRef(Schema):
    meeting_id = fields.String(required=True, validate=ID)


# ---------------------------------------------------------------- archive (A1–A3)

CorrectionIn = archive.CorrectionIn


class AlgorithmBody(Schema):
    algorithm = fields.String(required=True, validate=validate.OneOf(archive.HASH_ALGORITHMS))


# ---------------------------------------------------------------- sessions and integrators' tokens

class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=1024))


API_TOKEN_ROLES = ("observer", "office")


class ApiTokenIn(Schema):
    """An integrator's read-only token; ``org_id`` defaults to the caller's organization."""
    name = Line(required=True, validate=validate.Length(min=1, max=200))
    org_id = fields.String(load_default=None, validate=ID)
    roles = fields.List(fields.String(validate=validate.OneOf(API_TOKEN_ROLES)), load_default=lambda: ["observer"],
                        validate=validate.Length(min=1, max=len(API_TOKEN_ROLES)))
    days = fields.Integer(load_default=365, validate=validate.Range(min=1, max=730))


class ApiTokenListQuery(Schema):
    org_id = fields.String(load_default=None, validate=ID)


# ---------------------------------------------------------------- bounds found by fuzzing

# An offset beyond a 64-bit integer reached a service's database and failed there (5xx):
# every page query (they all share PageQuery's field) refuses it with a 400 naming ``offset``.
MAX_OFFSET = 2 ** 31 - 1
PageQuery._declared_fields["offset"].validators.append(validate.Range(max=MAX_OFFSET))
