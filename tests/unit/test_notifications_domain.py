"""Notification rules N1–N2, unit-tested directly (no broker, no database)."""
import pytest

from services.notifications import domain, schemas
from shared.errors import ValidationFailed
from shared.validation import load


def noticed(**extra):
    data = {
        "meeting_id": "m-1", "kind": "regular", "title": "党组会议",
        "scheduled_at": "2026-12-10T10:00:00+08:00", "noticed_at": "2026-12-07T02:00:00Z",
        "objection_deadline": "2026-12-09T02:00:00Z", "chair_person_id": "p0",
        "agenda": [{"topic_id": "t1", "title": "2027年度工作计划", "category": "work_plan"},
                   {"topic_id": "t2", "title": "干部任免", "category": "personnel"}],
        "recipients": ["p0", "p1", "p2"],
    }
    data.update(extra)
    return load(schemas.MeetingNoticedIn(), data, rule="N1")


def test_n1_one_inbox_notice_per_recipient():
    notices = domain.notices_for_meeting(noticed())
    assert [n["person_id"] for n in notices] == ["p0", "p1", "p2"]
    assert {(n["channel"], n["kind"], n["meeting_id"]) for n in notices} == {("inbox", "meeting_notice", "m-1")}


def test_n1_notice_has_title_time_in_utc_objection_deadline_and_agenda():
    notice = domain.notices_for_meeting(noticed())[0]
    assert notice["title"] == "会议通知：党组会议"
    assert "2026-12-10T02:00:00Z" in notice["body"]          # 10:00 in Beijing = 02:00 UTC
    assert "2026-12-09T02:00:00Z" in notice["body"]          # M5 objection deadline
    assert "1. 2027年度工作计划" in notice["body"] and "2. 干部任免" in notice["body"]


def test_n1_emergency_meeting_notice_says_so():
    assert domain.notices_for_meeting(noticed(kind="emergency"))[0]["title"] == "紧急会议通知：党组会议"


def test_n2_recipient_listed_twice_gets_one_notice():
    notices = domain.notices_for_meeting(noticed(recipients=["p1", "p2", "p1"]))
    assert [n["person_id"] for n in notices] == ["p1", "p2"]


def test_n1_no_recipients_no_notices():
    assert domain.notices_for_meeting(noticed(recipients=[])) == []


@pytest.mark.parametrize("field,value", [("recipients", None), ("scheduled_at", "2026-12-10T10:00:00"),
                                         ("meeting_id", "")])
def test_n1_malformed_notice_names_the_field(field, value):
    with pytest.raises(ValidationFailed) as err:
        noticed(**{field: value})
    assert err.value.field == field and err.value.rule == "N1"


def test_n1_blank_recipient_is_refused():
    with pytest.raises(ValidationFailed) as err:
        domain.notices_for_meeting({**noticed(), "recipients": ["p1", " "]})
    assert err.value.field == "recipients.1" and err.value.rule == "N1"


# ------------------------------------------------------------------ the generic mapping (N1)

import datetime as dt  # noqa: E402

from services.notifications import templates  # noqa: E402
from shared.errors import Forbidden, RuleViolation  # noqa: E402
from tests.support.roster import actor as actor_dict  # noqa: E402
from shared.actor import Actor  # noqa: E402

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)


def ballot_opened(**extra):
    data = {"ballot_id": "b-1", "meeting_id": "m-1", "agenda_item_id": "t1", "title": "干部任免",
            "category": "personnel", "method": "secret", "n": 9, "present": 7,
            "eligible": ["p0", "p1", "p2"]}
    data.update(extra)
    return load(schemas.BallotOpenedIn(), data, rule="N1")


def result_decided(**extra):
    data = {"decision_id": "d-1", "ballot_id": "b-1", "meeting_id": "m-1", "agenda_item_id": "t1",
            "title": "干部任免", "category": "personnel", "method": "named", "emergency": False, "n": 9,
            "present": 7, "yes": 6, "no": 1, "abstain": 0, "threshold": 5, "outcome": "passed",
            "superseded_decision_id": None, "decided_at": "2026-12-10T03:00:00Z",
            "members": [{"person_id": "p0", "presence": "present", "voted": True},
                        {"person_id": "p8", "presence": "leave", "voted": False}]}
    data.update(extra)
    return load(schemas.ResultDecidedIn(), data, rule="N1")


def plan(key, data, settings=None, webhooks=(), email_available=True, source_event_id="e-1"):
    return domain.plan(domain.MAPPINGS[key], data, org_id="org-a", source_event_id=source_event_id,
                       source_event_type=key[1], settings=settings or {}, webhooks=list(webhooks),
                       email_available=email_available, now=NOW)


def test_n1_every_subscription_is_one_entry_of_the_mapping():
    assert set(domain.MAPPINGS) == {("meetings", "meeting_noticed"), ("meetings", "objection_raised"),
                                    ("voting", "ballot_opened"), ("voting", "result_decided"),
                                    ("accountability", "implementation_postponed"),
                                    ("accountability", "implementation_not_executable"),
                                    ("accountability", "implementation_due_soon"),
                                    ("accountability", "implementation_overdue"),
                                    ("accountability", "compliance_alert_raised"),
                                    ("meetings", "objection_disposed")}
    assert set(domain.KINDS) == {"meeting_notice", "ballot_opened", "decision_distributed", "objection_reminder",
                                 "objection_received", "implementation_postponed", "implementation_not_executable",
                                 "implementation_due_soon", "implementation_overdue", "compliance_alert",
                                 "objection_answered"}
    assert set(domain.KINDS) == set(templates.TEMPLATES)


def c5_fact(**extra):
    data = {"task_id": "task-1", "decision_id": "d-1", "meeting_id": "m-1", "title": "2027年度工作计划",
            "leader_person_id": "p4", "recipients": ["p0", "p1", "p4", "p4"], "explanation": "资金下达推迟，向党组说明",
            "old_deadline": "2027-03-01", "new_deadline": "2027-04-01", "postponed_by": "p9",
            "postponed_at": "2027-02-20T02:00:00Z", "declared_by": "p9", "declared_at": "2027-02-20T02:00:00Z"}
    data.update(extra)
    return data


def test_c5_a_postponement_is_explained_to_the_group_whatever_their_preferences():
    off = domain.Settings(email=None, email_on=False, inbox_on=False)
    key = ("accountability", "implementation_postponed")
    data = load(schemas.ImplementationPostponedIn(), c5_fact(), rule="C5")
    p = plan(key, data, settings={"p1": off, "p4": domain.Settings(language="en")})
    assert [(n["person_id"], n["kind"], n["ref_id"]) for n in p["notifications"]] == [
        ("p0", "implementation_postponed", "task-1"), ("p1", "implementation_postponed", "task-1"),
        ("p4", "implementation_postponed", "task-1")]                   # listed twice, told once
    zh, _, en = p["notifications"]
    assert zh["title"] == "落实延期：2027年度工作计划"
    assert "由 2027-03-01 延至 2027-04-01" in zh["body"] and "说明：资金下达推迟，向党组说明" in zh["body"]
    assert en["title"] == "Implementation postponed: 2027年度工作计划" and "to 2027-04-01" in en["body"]


def follow_up(**extra):
    data = {"task_id": "task-1", "decision_id": "d-1", "title": "2027年度工作计划", "leader_person_id": "p4",
            "assigned_by": "p9", "recipients": ["p4", "p9"], "deadline": "2027-03-01", "days_left": 2,
            "reminded_at": "2027-02-27T01:00:00Z", "detected_at": "2027-03-02T01:00:00Z"}
    data.update(extra)
    return data


def test_c5_a_near_deadline_reminds_the_leader_and_the_office_whatever_their_preferences():
    off = domain.Settings(email=None, email_on=False, inbox_on=False)
    key = ("accountability", "implementation_due_soon")
    data = load(schemas.ImplementationDueSoonIn(), follow_up(), rule="C5")
    p = plan(key, data, settings={"p4": off, "p9": domain.Settings(language="en")})
    assert [(n["person_id"], n["kind"], n["ref_id"]) for n in p["notifications"]] == [
        ("p4", "implementation_due_soon", "task-1"), ("p9", "implementation_due_soon", "task-1")]
    zh, en = p["notifications"]
    assert zh["title"] == "落实即将到期：2027年度工作计划"
    assert "落实期限为 2027-03-01，还剩 2 天" in zh["body"]
    assert en["title"] == "Implementation due soon: 2027年度工作计划" and "(2 day(s) left)" in en["body"]


def test_c5_an_overdue_task_is_told_to_the_leader_and_the_office_and_an_older_event_to_the_leader():
    key = ("accountability", "implementation_overdue")
    data = load(schemas.ImplementationOverdueIn(), follow_up(), rule="C5")
    p = plan(key, data)
    assert [n["person_id"] for n in p["notifications"]] == ["p4", "p9"]
    assert p["notifications"][0]["title"] == "落实已逾期：2027年度工作计划"
    older = {"task_id": "task-1", "decision_id": "d-1", "leader_person_id": "p4", "deadline": "2027-03-01",
             "detected_at": "2027-03-02T01:00:00Z"}        # the event before it named its recipients
    p = plan(key, load(schemas.ImplementationOverdueIn(), older, rule="C5"))
    assert [n["person_id"] for n in p["notifications"]] == ["p4"]
    assert p["notifications"][0]["title"] == "落实已逾期：d-1"


def test_c7_an_alert_goes_to_the_role_holders_the_service_puts_in():
    mapping = domain.MAPPINGS[("accountability", "compliance_alert_raised")]
    assert mapping.roster_roles == ("discipline",)
    event = {"alert_id": "a-1", "rule": "M2", "subject_type": "month", "subject_id": "2027-01",
             "message": "2027-01 no Party Group meeting was held", "raised_at": "2027-02-01T00:00:00Z"}
    data = load(schemas.ComplianceAlertRaisedIn(), event, rule="C7")
    assert domain.recipients_of(mapping, data) == []           # nobody named in the event itself
    p = plan(("accountability", "compliance_alert_raised"), {**data, "recipients": ["p7"]})
    assert [(n["person_id"], n["kind"], n["ref_id"]) for n in p["notifications"]] == [("p7", "compliance_alert", "a-1")]
    assert p["notifications"][0]["title"] == "合规提醒（M2）"
    assert "规则 M2：2027-01 no Party Group meeting was held" in p["notifications"][0]["body"]


def test_c5_a_decision_that_cannot_be_carried_out_is_explained_to_the_group():
    key = ("accountability", "implementation_not_executable")
    data = load(schemas.ImplementationNotExecutableIn(), c5_fact(explanation="政策调整，无法执行"), rule="C5")
    p = plan(key, data)
    assert [n["person_id"] for n in p["notifications"]] == ["p0", "p1", "p4"]
    assert p["notifications"][0]["title"] == "决定无法执行：2027年度工作计划"
    assert "说明：政策调整，无法执行" in p["notifications"][0]["body"]
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ImplementationNotExecutableIn(), c5_fact(explanation=""), rule="C5")
    assert err.value.field == "explanation"


def raw_objection(**extra):
    data = {"objection_id": "o-1", "meeting_id": "m-1", "topic_id": "t1", "person_id": "p3",
            "text": "建议先征求基层意见", "raised_at": "2026-12-08T01:00:00Z", "chair_person_id": "p0",
            "meeting_title": "党组会议", "scheduled_at": "2026-12-10T02:00:00Z", "topic_title": "2027年度工作计划",
            "person_name": "党组成员三"}
    data.update(extra)
    return data


def objection_raised(**extra):
    return load(schemas.ObjectionRaisedIn(), raw_objection(**extra), rule="M5")


def test_m5_an_objection_reaches_the_chair_only_whatever_the_chairs_preferences():
    off = domain.Settings(email="p0@example.org", email_on=False, inbox_on=False)
    p = plan(("meetings", "objection_raised"), objection_raised(), settings={"p0": off})
    assert [(n["person_id"], n["kind"]) for n in p["notifications"]] == [("p0", "objection_received")]
    assert [d["channel"] for d in p["deliveries"]] == ["inbox"]            # mandatory, like a notice
    n = p["notifications"][0]
    assert n["title"] == "议题异议：党组会议" and n["meeting_id"] == "m-1" and n["ref_id"] == "m-1"
    # an event without the organization's zone: instants in ISO 8601 with their Z, never a
    # "UTC" label the inbox page would leave beside the local time it shows
    assert "党组成员三对会议「党组会议」（2026-12-10T02:00:00Z）的议题「2027年度工作计划」提出异议" in n["body"]
    assert "建议先征求基层意见" in n["body"] and "提出时间：2026-12-08T01:00:00Z" in n["body"]
    assert "UTC" not in n["body"]
    # with the zone (N1): the bureau's clock, named
    local = plan(("meetings", "objection_raised"), objection_raised(timezone="Asia/Shanghai"),
                 settings={"p0": off})["notifications"][0]
    assert "党组成员三对会议「党组会议」（2026年12月10日 10:00 北京时间）" in local["body"]
    assert "提出时间：2026年12月8日 09:00 北京时间" in local["body"]
    en = plan(("meetings", "objection_raised"), objection_raised(topic_id=None, topic_title=None),
              settings={"p0": domain.Settings(language="en")})["notifications"][0]
    assert en["title"] == "Objection to the agenda: 党组会议"
    assert "党组成员三 objects to the agenda of the meeting \u201c党组会议\u201d" in en["body"]
    # an event of the first version (no titles, no name) still reaches the chair, with ids
    first = {k: v for k, v in raw_objection().items()
             if k not in ("meeting_title", "scheduled_at", "topic_title", "person_name")}
    old = plan(("meetings", "objection_raised"), load(schemas.ObjectionRaisedIn(), first))["notifications"][0]
    assert old["title"] == "议题异议：m-1"
    assert old["body"].startswith("p3对会议「m-1」的议题「t1」提出异议：\n建议先征求基层意见")


@pytest.mark.parametrize("field", ["chair_person_id", "text", "raised_at", "person_id"])
def test_m5_an_objection_event_without_its_chair_text_time_or_author_is_refused(field):
    data = {k: v for k, v in raw_objection().items() if k != field}
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ObjectionRaisedIn(), data, rule="M5")
    assert err.value.field == field and err.value.rule == "M5"


def test_n1_ballot_opened_goes_to_the_eligible_voters_only():
    p = plan(("voting", "ballot_opened"), ballot_opened())
    assert [n["person_id"] for n in p["notifications"]] == ["p0", "p1", "p2"]
    n = p["notifications"][0]
    assert n["kind"] == "ballot_opened" and n["title"] == "表决已开始：干部任免"
    assert n["meeting_id"] == "m-1" and n["ref_id"] == "b-1"
    assert "无记名投票" in n["body"] and "应到 9 人，实到 7 人" in n["body"]


def test_n1_decision_goes_to_every_member_of_the_meeting_including_those_on_leave():
    p = plan(("voting", "result_decided"), result_decided())
    assert [n["person_id"] for n in p["notifications"]] == ["p0", "p8"]
    n = p["notifications"][0]
    assert n["kind"] == "decision_distributed" and n["title"] == "决定：干部任免（通过）" and n["ref_id"] == "d-1"
    assert "同意 6 票，不同意 1 票，弃权 0 票" in n["body"]


def test_n1_blank_voter_is_refused_naming_its_place():
    with pytest.raises(ValidationFailed) as err:
        plan(("voting", "ballot_opened"), {**ballot_opened(), "eligible": ["p0", ""]})
    assert err.value.field == "eligible.1" and err.value.rule == "N1"


def test_n2_inbox_is_delivered_when_stored_email_and_webhooks_are_pending():
    settings = {"p1": domain.Settings(email="p1@example.org")}
    hooks = [{"webhook_id": "w-1", "event_types": ["meeting_notice"]},
             {"webhook_id": "w-2", "event_types": ["ballot_opened"]}]
    p = plan(("meetings", "meeting_noticed"), noticed(), settings=settings, webhooks=hooks)
    by_channel = {}
    for d in p["deliveries"]:
        by_channel.setdefault(d["channel"], []).append(d)
    assert [(d["recipient"], d["status"]) for d in by_channel["inbox"]] == [("p0", "sent"), ("p1", "sent"),
                                                                          ("p2", "sent")]
    assert {d["notification_id"] for d in by_channel["inbox"]} == {n["id"] for n in p["notifications"]}
    # e-mail only to the one person with an address
    [mail] = by_channel["email"]
    assert mail["recipient"] == "p1" and mail["status"] == "pending"
    assert mail["payload"]["to"] == "p1@example.org" and mail["payload"]["subject"] == "会议通知：党组会议"
    assert "<li>2027年度工作计划</li>" in mail["payload"]["html"]
    # only the webhook subscribed to the kind
    [hook] = by_channel["webhook"]
    assert hook["recipient"] == "w-1" and hook["status"] == "pending"
    import json
    body = json.loads(hook["payload"]["body"])
    assert body["type"] == "meeting_notice" and body["data"]["recipients"] == ["p0", "p1", "p2"]
    assert body["data"]["source_event_id"] == "e-1" and body["data"]["meeting_id"] == "m-1"


def test_n2_no_smtp_server_no_email_deliveries():
    p = plan(("meetings", "meeting_noticed"), noticed(), settings={"p1": domain.Settings(email="p1@example.org")},
             email_available=False)
    assert {d["channel"] for d in p["deliveries"]} == {"inbox"}


def test_n2_preferences_switch_channels_but_a_meeting_notice_always_reaches_the_inbox():
    off = domain.Settings(email="p1@example.org", email_on=False, inbox_on=False)
    notice = plan(("meetings", "meeting_noticed"), noticed(recipients=["p1"]), settings={"p1": off})
    assert [d["channel"] for d in notice["deliveries"]] == ["inbox"]           # M5 proof of notice
    ballot = plan(("voting", "ballot_opened"), ballot_opened(eligible=["p1"]), settings={"p1": off})
    assert ballot == {"notifications": [], "deliveries": []}
    mail_only = domain.Settings(email="p1@example.org", inbox_on=False)
    ballot = plan(("voting", "ballot_opened"), ballot_opened(eligible=["p1"]), settings={"p1": mail_only})
    assert [d["channel"] for d in ballot["deliveries"]] == ["email"]


def test_n1_texts_follow_the_person_language():
    en = domain.Settings(email="p1@example.org", language="en")
    p = plan(("meetings", "meeting_noticed"), noticed(recipients=["p1", "p2"]), settings={"p1": en})
    titles = {n["person_id"]: n["title"] for n in p["notifications"]}
    assert titles == {"p1": "Meeting notice: 党组会议", "p2": "会议通知：党组会议"}
    mail = [d for d in p["deliveries"] if d["channel"] == "email"][0]
    assert mail["payload"]["language"] == "en" and 'lang="en"' in mail["payload"]["html"]
    assert "Objections to the agenda must reach the chair before 2026-12-09T02:00:00Z" in mail["payload"]["text"]


def test_n1_times_are_told_as_the_organizations_clock_shows_them():
    """Issue 19: a notice names the meeting's time in the organization's zone, in the reader's
    language; the objection reminder too; never "UTC" beside a local time."""
    en = domain.Settings(email="p1@example.org", language="en")
    data = noticed(recipients=["p1", "p2"], timezone="Asia/Shanghai")
    p = plan(("meetings", "meeting_noticed"), data, settings={"p1": en})
    body = {n["person_id"]: n["body"] for n in p["notifications"]}
    assert "时间：2026年12月10日 10:00 北京时间" in body["p2"]
    assert "对议题如有异议，请于 2026年12月9日 10:00 北京时间前提出" in body["p2"]
    assert "Time: 10 Dec 2026, 10:00 Beijing time" in body["p1"]
    assert not [b for b in body.values() if "UTC" in b or "T02:00" in b]
    reminder = templates.render("objection_reminder", "zh-CN", data).text()
    assert "会议「党组会议」将于 2026年12月10日 10:00 北京时间召开。" in reminder
    # another zone is named by its IANA name; an unknown one falls back to the instant with its Z
    other = templates.render("meeting_notice", "zh-CN", noticed(timezone="Europe/Berlin")).text()
    assert "时间：2026年12月10日 03:00 Europe/Berlin" in other
    unknown = templates.render("meeting_notice", "zh-CN", noticed(timezone="Mars/Olympus")).text()
    assert "时间：2026-12-10T02:00:00Z" in unknown


def test_c7_an_alert_reaches_the_inspector_in_their_language():
    data = load(schemas.ComplianceAlertRaisedIn(), {
        "alert_id": "a-1", "rule": "M5", "subject_type": "meeting", "subject_id": "m-1",
        "message": "M5: notice given 47.0 h before the meeting; at least 48 h are required",
        "message_zh": "M5：会议通知在会前 47.0 小时才发出，应至少提前 48 小时", "raised_at": "2026-12-08T01:00:00Z"},
        rule="C7")
    zh, en = (templates.render("compliance_alert", lang, data).text() for lang in ("zh-CN", "en"))
    assert "规则 M5：M5：会议通知在会前 47.0 小时才发出" in zh and "notice given" not in zh
    assert "Rule M5: M5: notice given 47.0 h" in en
    # an alert raised before it had a Chinese text: the English one, rather than nothing
    older = dict(data, message_zh=None)
    assert "notice given 47.0 h" in templates.render("compliance_alert", "zh-CN", older).text()


def test_n1_templates_exist_in_both_languages_and_escape_html():
    data = noticed(title="<b>党组</b> & 会议")
    for kind in ("meeting_notice", "objection_reminder"):
        for lang in templates.LANGUAGES:
            rendered = templates.render(kind, lang, data)
            assert "<b>党组</b>" not in rendered.html(lang) and "&lt;b&gt;党组&lt;/b&gt; &amp; 会议" in rendered.html(lang)
    objection = objection_raised(meeting_title="<b>党组</b> & 会议")
    for lang in templates.LANGUAGES:
        html = templates.render("objection_received", lang, objection).html(lang)
        assert "<b>党组</b>" not in html and "&lt;b&gt;党组&lt;/b&gt; &amp; 会议" in html
    assert templates.render("objection_reminder", "zh-CN", data).subject == "异议截止提醒：<b>党组</b> & 会议"
    assert templates.render("ballot_opened", "en", ballot_opened()).subject == "Voting has opened: 干部任免"
    assert templates.render("decision_distributed", "en", result_decided(outcome="failed")).subject \
        == "Decision: 干部任免 (not passed)"
    assert templates.render("meeting_notice", "fr", data).subject.startswith("会议通知")   # unknown: zh-CN


def test_n2_preferences_change_only_what_is_given():
    s = domain.Settings(email="a@example.org")
    s = domain.apply_preferences(s, {"channels": {"email": False}})
    assert s == domain.Settings(email="a@example.org", email_on=False)
    s = domain.apply_preferences(s, {"language": "en"})
    assert (s.language, s.email_on, s.inbox_on) == ("en", False, True)


@pytest.mark.parametrize("data,field", [({"channels": {"email": "yes"}}, "channels.email"),
                                        ({"language": "fr"}, "language"),
                                        ({"channels": {"sms": True}}, "channels.sms")])
def test_n2_bad_preferences_name_the_field(data, field):
    with pytest.raises(ValidationFailed) as err:
        load(schemas.PreferencesIn(), data, rule="N2")
    assert err.value.field == field and err.value.rule == "N2"


def test_n2_contact_is_set_by_the_person_or_an_administrator():
    domain.check_contact_rights(Actor.from_dict(actor_dict("p1", "org-a", "member")), "p1")
    domain.check_contact_rights(Actor.from_dict(actor_dict("admin", None, "admin")), "p1")
    with pytest.raises(Forbidden) as err:
        domain.check_contact_rights(Actor.from_dict(actor_dict("p2", "org-a", "secretary")), "p1")
    assert err.value.rule == "N2"
    with pytest.raises(ValidationFailed) as err:
        load(schemas.ContactIn(), {"email": "p1@example.org\r\nBcc: x@evil.test"}, rule="N2")
    assert err.value.field == "email"


# ------------------------------------------------------------------ reminders (M5, N1)

def test_m5_reminder_is_due_lead_before_the_objection_deadline():
    data = noticed()       # noticed 12-07 02:00, deadline 12-09 02:00
    due = domain.reminder_due_at(data, dt.timedelta(hours=12))
    assert due == dt.datetime(2026, 12, 8, 14, 0, tzinfo=dt.timezone.utc)
    deadline = data["objection_deadline"]
    assert not domain.reminder_is_due(due, deadline, due - dt.timedelta(seconds=1))
    assert domain.reminder_is_due(due, deadline, due)
    assert not domain.reminder_is_due(due, deadline, deadline)       # too late to object anyway


def test_m5_late_notice_is_reminded_halfway_to_the_deadline_not_at_once():
    data = noticed(noticed_at="2026-12-08T20:00:00Z")
    assert domain.reminder_due_at(data, dt.timedelta(hours=12)) == dt.datetime(2026, 12, 8, 23, 0,
                                                                              tzinfo=dt.timezone.utc)
    assert domain.reminder_due_at(noticed(objection_deadline=None), dt.timedelta(hours=12)) is None


def test_n2_one_reminder_id_per_meeting_and_deadline():
    a = domain.reminder_source_id("m-1", dt.datetime(2026, 12, 9, 2, tzinfo=dt.timezone.utc))
    assert a == domain.reminder_source_id("m-1", dt.datetime(2026, 12, 9, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert a != domain.reminder_source_id("m-1", dt.datetime(2026, 12, 9, 3, tzinfo=dt.timezone.utc))
    assert a != domain.reminder_source_id("m-2", dt.datetime(2026, 12, 9, 2, tzinfo=dt.timezone.utc))


def test_m5_only_meeting_notices_and_objections_are_acknowledged():
    domain.check_acknowledgeable("meeting_notice")
    domain.check_acknowledgeable("objection_received")     # the chair's proof that it arrived
    for kind in ("ballot_opened", "decision_distributed", "objection_reminder"):
        with pytest.raises(RuleViolation) as err:
            domain.check_acknowledgeable(kind)
        assert err.value.rule == "M5" and err.value.field == "notification_id"


# ------------------------------------------------------------------ retries (N2)

def test_n2_backoff_doubles_from_the_base_up_to_the_cap():
    assert [domain.backoff(n, 1, 3600) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert domain.backoff(20, 1, 60) == 60
    assert domain.after_failure(1, 3, 1, 60, NOW) == ("pending", NOW + dt.timedelta(seconds=1))
    assert domain.after_failure(3, 3, 1, 60, NOW) == ("failed", None)
    assert domain.after_failure(1, 3, 1, 60, NOW, permanent=True) == ("failed", None)


def test_m5_the_chairs_answer_reaches_the_member_who_objected_whatever_their_preferences():
    off = domain.Settings(email=None, email_on=False, inbox_on=False)
    key = ("meetings", "objection_disposed")
    data = load(schemas.ObjectionDisposedIn(), {
        "objection_id": "o-1", "meeting_id": "m-1", "topic_id": None, "person_id": "p3",
        "disposition": "not_accepted", "reply": "情况紧急，按期研究", "disposed_by": "p0",
        "disposed_at": "2027-01-05T02:00:00Z"}, rule="M5")
    p = plan(key, data, settings={"p3": off})
    assert [(n["person_id"], n["kind"], n["meeting_id"]) for n in p["notifications"]] == [
        ("p3", "objection_answered", "m-1")]
    assert p["notifications"][0]["title"] == "您提出的异议未采纳"
    assert "会议主持人的答复：情况紧急，按期研究" in p["notifications"][0]["body"]
    en = plan(key, {**data, "disposition": "accepted"}, settings={"p3": domain.Settings(language="en")})
    assert en["notifications"][0]["title"] == "Your objection was accepted"
