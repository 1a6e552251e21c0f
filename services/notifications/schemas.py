"""marshmallow schemas of the events notifications consumes (SPEC §4)."""
from marshmallow import EXCLUDE, Schema, fields, validate

ID = validate.Length(min=1, max=64)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE   # producers may add fields in a compatible version


class AgendaItemIn(_Lenient):
    topic_id = fields.String(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(load_default=None, allow_none=True)


class MeetingNoticedIn(_Lenient):
    """``meetings.meeting_noticed`` data (M5, N1)."""
    meeting_id = fields.String(required=True, validate=ID)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=20))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    scheduled_at = fields.AwareDateTime(required=True)
    noticed_at = fields.AwareDateTime(load_default=None, allow_none=True)
    objection_deadline = fields.AwareDateTime(load_default=None, allow_none=True)
    chair_person_id = fields.String(load_default=None, allow_none=True, validate=ID)
    agenda = fields.List(fields.Nested(AgendaItemIn), load_default=list)
    recipients = fields.List(fields.String(validate=ID), required=True)
    timezone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))   # N1


class BallotOpenedIn(_Lenient):
    """``voting.ballot_opened`` data (V1, N1): the eligible voters are told voting has opened."""
    ballot_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    agenda_item_id = fields.String(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(load_default=None, allow_none=True)
    method = fields.String(required=True, validate=validate.Length(min=1, max=20))
    n = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    present = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    eligible = fields.List(fields.String(validate=ID), required=True)


class ObjectionRaisedIn(_Lenient):
    """``meetings.objection_raised`` data (M5, N1): the objection reaches the meeting's chair."""
    objection_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    chair_person_id = fields.String(required=True, validate=ID)
    person_id = fields.String(required=True, validate=ID)
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000))   # as meetings accepts it
    raised_at = fields.AwareDateTime(required=True)
    topic_id = fields.String(load_default=None, allow_none=True, validate=ID)
    # added in a compatible version; an older event still notifies, with ids instead of names
    meeting_title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    scheduled_at = fields.AwareDateTime(load_default=None, allow_none=True)
    topic_title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    person_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    timezone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class MemberLineIn(_Lenient):
    person_id = fields.String(required=True, validate=ID)
    presence = fields.String(load_default=None, allow_none=True)


class ResultDecidedIn(_Lenient):
    """``voting.result_decided`` data (V3, N1): the decision goes to every member of the meeting."""
    decision_id = fields.String(required=True, validate=ID)
    ballot_id = fields.String(load_default=None, allow_none=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(load_default=None, allow_none=True)
    method = fields.String(load_default=None, allow_none=True)
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=20))
    decided_at = fields.AwareDateTime(required=True)
    n = fields.Integer(load_default=None, allow_none=True, strict=True)
    present = fields.Integer(load_default=None, allow_none=True, strict=True)
    yes = fields.Integer(load_default=None, allow_none=True, strict=True)
    no = fields.Integer(load_default=None, allow_none=True, strict=True)
    abstain = fields.Integer(load_default=None, allow_none=True, strict=True)
    members = fields.List(fields.Nested(MemberLineIn), required=True)


class _ImplementationFactIn(_Lenient):
    task_id = fields.String(required=True, validate=ID)
    decision_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(load_default=None, allow_none=True, validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    leader_person_id = fields.String(required=True, validate=ID)
    explanation = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    recipients = fields.List(fields.String(validate=ID), required=True)


class ImplementationPostponedIn(_ImplementationFactIn):
    """``accountability.implementation_postponed`` data (C5): the group hears the new deadline and why."""
    old_deadline = fields.Date(required=True)
    new_deadline = fields.Date(required=True)
    postponed_by = fields.String(required=True, validate=ID)
    postponed_at = fields.AwareDateTime(required=True)


class ImplementationNotExecutableIn(_ImplementationFactIn):
    """``accountability.implementation_not_executable`` data (C5): the group hears why it cannot be carried out."""
    declared_by = fields.String(required=True, validate=ID)
    declared_at = fields.AwareDateTime(required=True)


class ObjectionDisposedIn(_Lenient):
    """``meetings.objection_disposed`` data (M5): the member who objected hears the chair's answer."""
    objection_id = fields.String(required=True, validate=ID)
    meeting_id = fields.String(required=True, validate=ID)
    person_id = fields.String(required=True, validate=ID)
    disposition = fields.String(required=True, validate=validate.OneOf(("accepted", "not_accepted")))
    reply = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    disposed_by = fields.String(required=True, validate=ID)
    disposed_at = fields.AwareDateTime(required=True)


class _FollowUpIn(_Lenient):
    """What a reminder or an overdue notice says of an implementation task (C5 §三(七))."""
    task_id = fields.String(required=True, validate=ID)
    decision_id = fields.String(required=True, validate=ID)
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    leader_person_id = fields.String(required=True, validate=ID)
    assigned_by = fields.String(load_default=None, allow_none=True, validate=ID)
    deadline = fields.Date(required=True)
    # the leader and the office that follows the task up; an overdue event from an earlier
    # version has none: its leader is told
    recipients = fields.List(fields.String(validate=ID), load_default=None, allow_none=True)


class ImplementationDueSoonIn(_FollowUpIn):
    """``accountability.implementation_due_soon`` data (C5): the deadline is near."""
    days_left = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    reminded_at = fields.AwareDateTime(required=True)


class ImplementationOverdueIn(_FollowUpIn):
    """``accountability.implementation_overdue`` data (C5): the deadline passed unfinished."""
    detected_at = fields.AwareDateTime(required=True)


class ComplianceAlertRaisedIn(_Lenient):
    """``accountability.compliance_alert_raised`` data (C7): told to the discipline inspector."""
    alert_id = fields.String(required=True, validate=ID)
    rule = fields.String(required=True, validate=validate.Length(min=1, max=10))
    subject_type = fields.String(required=True, validate=validate.Length(min=1, max=40))
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=120))
    message = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    raised_at = fields.AwareDateTime(required=True)
    message_zh = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20000))


class MembershipChangedIn(_Lenient):
    """``meetings.membership_changed`` data: who holds which role, from when to when."""
    person_id = fields.String(required=True, validate=ID)
    role = fields.String(required=True, validate=validate.Length(min=1, max=40))
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None, allow_none=True)


# ---------------------------------------------------------------- commands (strict: unknown fields refused)

class ContactIn(Schema):
    """``set_contact``: a person's e-mail address (``null`` removes it)."""
    email = fields.Email(required=True, allow_none=True, validate=validate.Length(max=254))


class ChannelsIn(Schema):
    email = fields.Boolean(truthy={True}, falsy={False})
    inbox = fields.Boolean(truthy={True}, falsy={False})


class PreferencesIn(Schema):
    """``set_preferences``: channels on or off and the language of the texts (N2)."""
    channels = fields.Nested(ChannelsIn)
    language = fields.String(validate=validate.OneOf(("zh-CN", "en")))


class WebhookIn(Schema):
    """``register_webhook`` (N2): where to POST, which notification kinds, optional own secret."""
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    event_types = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True,
                              validate=validate.Length(min=1, max=20))
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=10, max=200))
    org_id = fields.String(load_default=None, allow_none=True, validate=ID)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DeliveriesQuery(Schema):
    """``deliveries`` filters."""
    org_id = fields.String(load_default=None, allow_none=True, validate=ID)
    channel = fields.String(load_default=None, allow_none=True,
                            validate=validate.OneOf(("inbox", "email", "webhook")))
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(("pending", "sent", "failed")))
    webhook_id = fields.String(load_default=None, allow_none=True, validate=ID)
    source_event_id = fields.String(load_default=None, allow_none=True, validate=ID)
