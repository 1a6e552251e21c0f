"""M10: issue numbers 〔year〕n号, over a real RabbitMQ, on SQLite and PostgreSQL: given at the
secretary's sign-off, per organization and year (the year in the organization's time zone),
gap-free and never shared, even when sign-offs run at the same time; kept on the document,
carried by ``document_issued`` and listed by year."""
import datetime as dt

import eventlet
import pytest

from shared import clock
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.integration.test_meetings_rules_rpc import (  # noqa: F401  (fixtures used by name)
    controlled_clock, env, events, opened, staff, team)

pytestmark = pytest.mark.integration
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def closed_meeting(meetings, org_id, ids, p):
    mid, _ = opened(meetings, p, ids, org_id, present=ids[:4])
    meetings.close_meeting(p[0], mid)
    return mid


def prepare(meetings, office, mid, title, scope):
    return meetings.issue_document(office, mid, {"kind": "document", "title": title, "body": "正文",
                                                 "scope": scope})["document_id"]


def test_m10_ten_sign_offs_at_once_take_ten_distinct_gap_free_numbers(env, rpc_client):
    meetings, engine = env
    org_id, ids, p = team(meetings, 5)
    office = staff(meetings, org_id, "office")
    mid = closed_meeting(meetings, org_id, ids, p)
    docs = [prepare(meetings, office, mid, f"关于第{i}项工作的通知", [ids[2]]) for i in range(10)]
    year = clock.now().astimezone(SHANGHAI).year

    # ten secretaries' clicks at once, each on its own connection, in parallel green threads
    proxies = [rpc_client().meetings for _ in range(10)]
    pool = eventlet.GreenPool(10)
    issued = list(pool.imap(lambda pair: pair[0].sign_off(p[0], pair[1]), zip(proxies, docs)))

    seqs = sorted(d["number_seq"] for d in issued)
    assert seqs == list(range(1, 11))                       # never shared, no gap
    assert {d["number_year"] for d in issued} == {year}
    for d in issued:
        assert d["status"] == "issued" and d["document_number"] == f"〔{year}〕{d['number_seq']}号"
        assert meetings.get_document(p[2], d["document_id"])["document_number"] == d["document_number"]
    # the sign-off event carries the number (so the archive record has it)
    numbered = {e["document_id"]: e["document_number"] for e in events(engine, "document_issued")}
    assert numbered == {d["document_id"]: d["document_number"] for d in issued}

    # two sign-offs of one document at once: one numbers it, the other is refused, no number lost
    late = prepare(meetings, office, mid, "关于补充事项的通知", [ids[2]])
    outcomes = []

    def sign(proxy):
        try:
            outcomes.append(proxy.sign_off(p[0], late)["number_seq"])
        except Conflict:
            outcomes.append("conflict")
    list(pool.imap(sign, proxies[:2]))
    assert sorted(outcomes, key=str) == [11, "conflict"]
    assert meetings.get_document(p[0], late)["document_number"] == f"〔{year}〕11号"


def test_m10_the_year_turns_at_midnight_in_the_organizations_time_zone_and_numbers_restart(env):
    meetings, engine = env
    org_id, ids, p = team(meetings, 5)                      # Asia/Shanghai (UTC+8)
    office = staff(meetings, org_id, "office")
    other_org, other_ids, q = team(meetings, 5)
    other_office = staff(meetings, other_org, "office")
    mid = closed_meeting(meetings, org_id, ids, p)
    other_mid = closed_meeting(meetings, other_org, other_ids, q)
    a, b, c = (prepare(meetings, office, mid, title, [ids[2]]) for title in ("甲", "乙", "丙"))
    foreign = prepare(meetings, other_office, other_mid, "丁", [other_ids[2]])

    year = clock.now().astimezone(SHANGHAI).year + 1
    # 23:30 on 31 December in Shanghai (15:30 UTC): still the old year
    clock.advance(dt.datetime(year, 12, 31, 15, 30, tzinfo=dt.timezone.utc) - clock.now())
    assert meetings.sign_off(p[0], a)["document_number"] == f"〔{year}〕1号"
    # 00:30 on 1 January in Shanghai, still 31 December in UTC: the new year, numbered from 1
    clock.advance(dt.timedelta(hours=1))
    assert clock.now().year == year
    first = meetings.sign_off(p[0], b)
    assert (first["document_number"], first["number_year"], first["number_seq"]) == (f"〔{year + 1}〕1号", year + 1, 1)
    assert first["signed_off_at_local"].startswith(f"{year + 1}-01-01T00:30")
    assert meetings.sign_off(p[0], c)["document_number"] == f"〔{year + 1}〕2号"
    # another organization counts on its own
    assert meetings.sign_off(q[0], foreign)["document_number"] == f"〔{year + 1}〕1号"

    # the register of a year: the organization's numbered documents, in number order
    listed = meetings.list_documents(office, org_id, year + 1)
    assert [(d["document_number"], d["title"]) for d in listed["items"]] == [
        (f"〔{year + 1}〕1号", "乙"), (f"〔{year + 1}〕2号", "丙")]
    assert "body" not in listed["items"][0] and listed["timezone"] == "Asia/Shanghai"
    assert [d["title"] for d in meetings.list_documents(office, org_id, str(year))["items"]] == ["甲"]
    assert meetings.list_documents(office, org_id, year + 2)["items"] == []
    # a member reads only the documents whose scope names them (M10)
    assert len(meetings.list_documents(p[2], org_id, year + 1)["items"]) == 2
    assert meetings.list_documents(p[3], org_id, year + 1)["items"] == []
    for bad in ("20x7", 99, None, True):
        with pytest.raises(ValidationFailed) as err:
            meetings.list_documents(office, org_id, bad)
        assert (err.value.field, err.value.rule) == ("year", "M10")


def test_m10_the_documents_awaiting_sign_off_are_listed_for_the_secretary_oldest_first(env):
    meetings, _engine = env
    org_id, ids, p = team(meetings, 5)
    office = staff(meetings, org_id, "office")
    mid = closed_meeting(meetings, org_id, ids, p)
    assert meetings.documents_awaiting_sign_off(p[0], org_id)["items"] == []
    first = prepare(meetings, office, mid, "关于甲事项的通知", [ids[2]])
    second = prepare(meetings, office, mid, "关于乙事项的通知", [ids[2]])
    for reader in (p[0], office):
        pending = meetings.documents_awaiting_sign_off(reader, org_id)["items"]
        assert [d["document_id"] for d in pending] == [first, second]
        assert all(d["status"] == "awaiting_sign_off" and d["document_number"] is None for d in pending)
        assert "body" not in pending[0]
    meetings.sign_off(p[0], first)
    assert [d["document_id"] for d in meetings.documents_awaiting_sign_off(p[0], org_id)["items"]] == [second]
    # a member, or another organization's secretary, is not shown the pile (M10)
    with pytest.raises(Forbidden):
        meetings.documents_awaiting_sign_off(p[2], org_id)
    other_org, _other_ids, q = team(meetings, 3)
    with pytest.raises(Forbidden):
        meetings.documents_awaiting_sign_off(q[0], org_id)
