"""Archive rules without a broker or database: RFC 8785 canonical JSON and the A2 hash chain."""
import copy
import datetime as dt
import hashlib
import json
import struct

import pytest

from services.archive import domain
from services.archive.domain import (CONTENT_ALTERED, GENESIS_HASH, HEAD_MISMATCH, PREV_LINK_BROKEN, SEQ_DUPLICATE,
                                     SEQ_GAP, TRUNCATED, CanonicalizationError, build_chain, canonical_bytes,
                                     canonical_json, record_hash, verify)
from shared.errors import Forbidden, RuleViolation

# ------------------------------------------------------------------ canonical JSON (RFC 8785)


def test_a2_canonical_json_rfc8785_sample_object():
    # RFC 8785 §3.2.2: the specification's own input and output
    text = ('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
            ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
            ' "literals": [null, true, false]}')
    assert canonical_json(json.loads(text)) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')


def test_a2_canonical_json_sorts_keys_by_utf16_code_units():
    # RFC 8785 §3.2.3: U+1F600 (a surrogate pair D83D DE00) sorts before U+FB33, unlike code points
    value = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
             "1": "One", "\U0001F600": "Emoji: Grinning Face", "\u0080": "Control",
             "\u00f6": "Latin Small Letter O With Diaeresis"}
    keys = list(json.loads(canonical_json(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\ufb33"]
    assert sorted(value) != keys          # plain code-point order would differ


def test_a2_canonical_json_key_order_and_no_whitespace_nested():
    a = {"b": [1, {"z": None, "a": True}], "a": {"y": "x", "c": []}, "aa": {}}
    b = {"aa": {}, "a": {"c": [], "y": "x"}, "b": [1, {"a": True, "z": None}]}
    assert canonical_json(a) == canonical_json(b) == '{"a":{"c":[],"y":"x"},"aa":{},"b":[1,{"a":true,"z":null}]}'


def test_a2_canonical_json_keeps_chinese_text_as_utf8():
    value = {"title": "2027年度工作计划", "reserved_opinion": "资金来源需进一步论证"}
    text = canonical_json(value)
    assert text == '{"reserved_opinion":"资金来源需进一步论证","title":"2027年度工作计划"}'
    assert canonical_bytes(value) == text.encode("utf-8")
    assert "\\u" not in text


def test_a2_canonical_json_string_escapes():
    value = "q\"b\\s/\b\f\n\r\t\x00\x1f\x7f\u2028é"
    # short escapes, other controls as lower-case \u00xx, DEL / U+2028 / é literal, "/" not escaped
    assert canonical_json(value) == '"q\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028é"'


def test_a2_canonical_json_numbers_follow_ecmascript():
    # RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text
    vectors = {
        "0000000000000000": "0", "8000000000000000": "0", "0000000000000001": "5e-324",
        "8000000000000001": "-5e-324", "7fefffffffffffff": "1.7976931348623157e+308",
        "4340000000000000": "9007199254740992", "4430000000000000": "295147905179352830000",
        "44b52d02c7e14af5": "9.999999999999997e+22", "44b52d02c7e14af6": "1e+23",
        "444b1ae4d6e2ef4f": "999999999999999900000", "444b1ae4d6e2ef50": "1e+21",
        "3eb0c6f7a0b5ed8c": "9.999999999999997e-7", "3eb0c6f7a0b5ed8d": "0.000001",
        "41b3de4355555557": "333333333.33333343", "becbf647612f3696": "-0.0000033333333333333333",
    }
    for bits, expected in vectors.items():
        assert canonical_json(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected, bits
    assert canonical_json([0, -7, 1.0, 12, 2 ** 53 - 1]) == "[0,-7,1,12,9007199254740991]"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2 ** 53, -(2 ** 53), {1: "x"},
                                 dt.date(2026, 1, 1), b"bytes", {"k": {1, 2}}, "lone \ud800 surrogate"])
def test_a2_canonical_json_refuses_what_has_no_canonical_form(bad):
    with pytest.raises(CanonicalizationError):
        canonical_json(bad)


# ------------------------------------------------------------------ the chain (A2)

ORG = "org-1"


def decision(i, **extra):
    return {"decision_id": f"d{i}", "title": f"议题{i}", "yes": 5, "no": 1, "abstain": 1, "outcome": "passed",
            "members": [{"person_id": "p1", "stance": "no", "reserved_opinion": "资金来源需进一步论证"}], **extra}


def chain(n=5):
    return build_chain(ORG, [(f"r{i}", f"e{i}", decision(i)) for i in range(1, n + 1)])


def head_of(records):
    return records[-1]["seq"], records[-1]["hash"]


def test_a2_hash_covers_previous_hash_and_canonical_envelope():
    records = chain(3)
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev_hash"] == GENESIS_HASH == "0" * 64
    assert records[1]["prev_hash"] == records[0]["hash"]
    first = records[0]
    envelope = {k: first[k] for k in domain.ENVELOPE_FIELDS}
    assert envelope["corrects"] is None and envelope["classification"] == "internal"   # A3 default
    expected = hashlib.sha256(("0" * 64 + "\n" + canonical_json(envelope)).encode("utf-8")).hexdigest()
    assert first["hash"] == record_hash(GENESIS_HASH, envelope) == expected
    assert first["algorithm"] == "sha256"


def test_a2_verify_ok_counts_records_in_any_input_order():
    records = chain(5)
    shuffled = [records[i] for i in (3, 0, 4, 2, 1)]
    assert verify(shuffled, head_of(records)) == {"ok": True, "records": 5, "first_bad": None}
    assert verify([], None) == {"ok": True, "records": 0, "first_bad": None}


def test_a2_flipping_one_content_byte_is_found_at_that_seq():
    records = chain(5)
    records[2]["content"]["title"] = records[2]["content"]["title"].replace("3", "4")
    result = verify(records, head_of(records))
    assert result["ok"] is False and result["records"] == 2
    assert result["first_bad"] == {"seq": 3, "record_id": "r3", "reason": CONTENT_ALTERED}


def test_a2_altering_a_reserved_opinion_or_metadata_is_found():
    records = chain(4)
    records[1]["content"]["members"][0]["reserved_opinion"] = "同意"
    assert verify(records)["first_bad"] == {"seq": 2, "record_id": "r2", "reason": CONTENT_ALTERED}
    records = chain(4)
    records[3]["classification"] = "public"
    assert verify(records)["first_bad"] == {"seq": 4, "record_id": "r4", "reason": CONTENT_ALTERED}


def test_a2_deleting_a_middle_record_is_a_seq_gap_at_the_missing_seq():
    records = chain(5)
    del records[2]
    result = verify(records, (5, chain(5)[-1]["hash"]))
    assert result["first_bad"] == {"seq": 3, "record_id": "r4", "reason": SEQ_GAP}
    assert result["records"] == 2


def test_a2_deleting_and_renumbering_breaks_the_prev_link():
    records = chain(5)
    del records[2]
    for r in records[2:]:
        r["seq"] -= 1
    assert verify(records)["first_bad"] == {"seq": 3, "record_id": "r4", "reason": PREV_LINK_BROKEN}


def test_a2_swapping_two_records_breaks_the_prev_link_at_the_first():
    records = chain(5)
    records[1]["seq"], records[2]["seq"] = records[2]["seq"], records[1]["seq"]
    assert verify(records, head_of(chain(5)))["first_bad"] == {"seq": 2, "record_id": "r3",
                                                               "reason": PREV_LINK_BROKEN}


def test_a2_a_duplicate_seq_is_reported():
    records = chain(3)
    twin = copy.deepcopy(records[1])
    twin["record_id"] = "forged"
    assert verify(records + [twin])["first_bad"]["reason"] == SEQ_DUPLICATE


def test_a2_inserting_a_forged_record_is_found():
    # a careless forger: a record squeezed in with a made-up hash
    records = chain(5)
    forged = dict(copy.deepcopy(records[2]), record_id="forged", content=decision(99), hash="f" * 64)
    tampered = records[:2] + [forged] + [dict(r, seq=r["seq"] + 1) for r in records[2:]]
    assert verify(tampered)["first_bad"] == {"seq": 3, "record_id": "forged", "reason": CONTENT_ALTERED}
    # a careful forger computes the forged record's hash: the next record's link gives it away
    good = domain.new_record(2, records[1]["hash"], org_id=ORG, kind="decision", record_id="forged",
                             source_event_id="e99", created_at="2026-01-01T00:00:00Z", content=decision(99))
    tampered = records[:2] + [good] + [dict(r, seq=r["seq"] + 1) for r in records[2:]]
    assert verify(tampered)["first_bad"] == {"seq": 4, "record_id": "r3", "reason": PREV_LINK_BROKEN}


def test_a2_truncation_is_found_only_against_the_chain_head():
    records = chain(5)
    head = head_of(records)
    truncated = records[:-1]
    # without the head a shorter chain looks whole: that is why the head is kept apart
    assert verify(truncated)["ok"] is True
    result = verify(truncated, head)
    assert result["ok"] is False and result["records"] == 4
    assert result["first_bad"] == {"seq": 5, "record_id": None, "reason": TRUNCATED}


def test_a2_records_beyond_the_head_or_a_rewritten_tail_are_found():
    records = chain(5)
    appended = domain.new_record(5, records[-1]["hash"], org_id=ORG, kind="decision", record_id="late",
                                 source_event_id="e6", created_at="2026-01-01T00:00:00Z", content=decision(6))
    assert verify(records + [appended], head_of(records))["first_bad"] == {
        "seq": 6, "record_id": "late", "reason": HEAD_MISMATCH}
    # the last record re-hashed consistently, but the head still holds the original hash
    rewritten = records[:-1] + [domain.new_record(4, records[3]["hash"], org_id=ORG, kind="decision",
                                                  record_id="r5", source_event_id="e5",
                                                  created_at="2026-01-01T00:00:00Z", content=decision(55))]
    assert verify(rewritten, head_of(records))["first_bad"] == {"seq": 5, "record_id": "r5",
                                                                "reason": HEAD_MISMATCH}


def test_a2_unknown_algorithm_and_unhashable_content_are_reported():
    records = chain(2)
    records[1]["algorithm"] = "md5"
    assert verify(records)["first_bad"]["reason"] == domain.UNKNOWN_ALGORITHM
    records = chain(2)
    records[0]["content"] = object()
    assert verify(records)["first_bad"] == {"seq": 1, "record_id": "r1", "reason": CONTENT_ALTERED}


def key_sorted(value):
    """Content as the archive receives and stores it: parsed from key-sorted JSON."""
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True))


@pytest.mark.parametrize("finite", [False, True], ids=["c-encoder", "as-read-from-the-store"])
def test_a2_verification_quick_paths_agree_with_the_strict_path_and_still_find_tampering(finite):
    # content in insertion order (sorted by the encoder) and key-sorted (written as it is), the latter
    # the way records come from events and storage; tampering is found either way (A2)
    for build in (decision, lambda i: key_sorted(decision(i))):
        records = build_chain(ORG, [(f"r{i}", f"e{i}", build(i)) for i in range(1, 7)])
        assert verify(records, head_of(records), finite) == {"ok": True, "records": 6, "first_bad": None}
        tampered = copy.deepcopy(records)
        tampered[3]["content"]["members"][0]["stance"] = "yes"
        assert verify(tampered, head_of(records), finite)["first_bad"] == {"seq": 4, "record_id": "r4",
                                                                           "reason": CONTENT_ALTERED}
        tampered = copy.deepcopy(records)
        tampered[0]["content"]["yes"] = 6
        assert verify(tampered, head_of(records), finite)["first_bad"]["seq"] == 1
    # a key-sorted chain with one record whose objects are in another order (same values) verifies
    records = build_chain(ORG, [(f"r{i}", f"e{i}", key_sorted(decision(i))) for i in range(1, 5)])
    records[1]["content"] = dict(reversed(list(records[1]["content"].items())))
    assert verify(records, head_of(records))["ok"] is True


def test_a2_the_envelope_holds_exactly_the_hashed_fields_in_canonical_order():
    record = chain(1)[0]
    envelope = domain.content_envelope(record)
    assert list(envelope) == sorted(domain.ENVELOPE_FIELDS)
    corrected = dict(record, reason="笔误更正", recorded_by="p-office", retention="permanent")
    envelope = domain.content_envelope(corrected)
    assert list(envelope) == sorted(domain.ENVELOPE_FIELDS + domain.OPTIONAL_ENVELOPE_FIELDS)
    # with key-sorted content (as received) the text written as it is ordered is the canonical one
    envelope = domain.content_envelope(dict(corrected, content=key_sorted(record["content"])))
    assert domain.canonical_json(envelope) == domain._encode_as_is(envelope)


def test_a2_numbers_the_c_encoder_writes_otherwise_verify_and_their_tampering_is_found():
    # 1e16 is "1e+16" to Python's encoder but "10000000000000000" in RFC 8785; 1.0 is "1"; the
    # quick path misses, the strict path recomputes the canonical form
    records = build_chain(ORG, [("r1", "e1", decision(1, amount=1e16, ratio=1.0, tiny=0.000001)),
                                ("r2", "e2", decision(2, amount=4.5))])
    assert verify(records, head_of(records)) == {"ok": True, "records": 2, "first_bad": None}
    records[0]["content"]["amount"] = 1e17
    assert verify(records, head_of(records))["first_bad"] == {"seq": 1, "record_id": "r1",
                                                              "reason": CONTENT_ALTERED}
    # values with no canonical form are still reported, whichever path they reach
    for bad in (2 ** 60, 2 ** 70, "\ud800", float("nan"), {1, 2}):
        records = chain(2)
        records[1]["content"]["yes"] = bad
        assert verify(records)["first_bad"] == {"seq": 2, "record_id": "r2", "reason": CONTENT_ALTERED}
    # as read from the store (finite): the same numbers verify, their tampering is found
    records = build_chain(ORG, [("r1", "e1", key_sorted(decision(1, amount=1e16, ratio=1.0, big=2 ** 53 - 1)))])
    assert verify(records, head_of(records), finite=True)["ok"] is True
    for bad in (2 ** 53, 2 ** 70, 1e17):          # 2 ** 70: beyond what the quickest encoder writes
        tampered = copy.deepcopy(records)
        tampered[0]["content"]["big"] = bad
        assert verify(tampered, head_of(records), finite=True)["first_bad"]["reason"] == CONTENT_ALTERED


def test_a1_new_record_refuses_unknown_kind_classification_and_non_object_content():
    with pytest.raises(ValueError):
        domain.new_record(0, GENESIS_HASH, org_id=ORG, kind="gossip", record_id="r", source_event_id="e",
                          created_at="t", content={})
    with pytest.raises(ValueError, match="A3"):
        domain.new_record(0, GENESIS_HASH, org_id=ORG, kind="decision", record_id="r", source_event_id="e",
                          created_at="t", content={}, classification="top")
    with pytest.raises(CanonicalizationError):
        domain.new_record(0, GENESIS_HASH, org_id=ORG, kind="decision", record_id="r", source_event_id="e",
                          created_at="t", content=["not", "an", "object"])


def test_a2_timestamp_text_is_utc_with_microseconds():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert domain.timestamp(dt.datetime(2026, 11, 28, 18, 0, tzinfo=shanghai)) == "2026-11-28T10:00:00.000000Z"
    assert domain.timestamp(dt.datetime(2026, 11, 28, 10, 0, 0, 5)) == "2026-11-28T10:00:00.000005Z"


# ------------------------------------------------------------------ V8, A3


def test_v8_a_secret_ballot_decision_with_stances_is_refused():
    data = {"method": "secret", "members": [{"person_id": "p1", "voted": True, "stance": None,
                                             "reserved_opinion": "保留意见"}]}
    domain.check_secrecy(data)                     # participation and reserved opinions are fine
    data["members"].append({"person_id": "p2", "voted": True, "stance": "yes"})
    with pytest.raises(RuleViolation) as err:
        domain.check_secrecy(data)
    assert err.value.rule == "V8" and "p2" not in err.value.message
    domain.check_secrecy({"method": "named", "members": [{"person_id": "p2", "stance": "yes"}]})


def test_a3_internal_records_are_readable_confidential_are_not_handed_out():
    assert domain.may_read_content("internal") and domain.may_read_content("public")
    domain.check_read("internal")
    with pytest.raises(Forbidden) as err:
        domain.check_read("confidential")
    assert err.value.rule == "A3"


# ------------------------------------------------------------------ A1 retention (永久 / 30 年 / 10 年)


def test_a1_every_kind_has_a_retention_period_and_records_hash_it():
    assert set(domain.RETENTION_OF_KIND.values()) == set(domain.RETENTIONS)
    assert domain.retention_of("decision") == "permanent" and domain.retention_of("leave") == "10y"
    assert domain.retention_of("topic") == "30y"
    assert domain.RETENTION_LABELS == {"permanent": "永久", "30y": "30 年", "10y": "10 年"}
    rec = domain.new_record(0, GENESIS_HASH, org_id=ORG, kind="minutes", record_id="r1", source_event_id="e1",
                            created_at="2026-01-01T00:00:00.000000Z", content={"minutes_id": "x"},
                            retention="permanent")
    assert '"retention":"permanent"' in domain.canonical_json(domain.content_envelope(rec))
    assert verify([rec], (1, rec["hash"]))["ok"] is True
    # A1: the retention is part of what is signed: shortening it is found
    assert verify([dict(rec, retention="10y")], (1, rec["hash"]))["first_bad"]["reason"] == CONTENT_ALTERED
    with pytest.raises(ValueError, match="retention"):
        domain.new_record(0, GENESIS_HASH, org_id=ORG, kind="minutes", record_id="r1", source_event_id="e1",
                          created_at="2026-01-01T00:00:00.000000Z", content={}, retention="5y")


def test_a1_records_made_before_retention_existed_still_verify():
    """Old records were hashed without a retention: the field stays out of their envelope."""
    old = domain.new_record(0, GENESIS_HASH, org_id=ORG, kind="decision", record_id="r1", source_event_id="e1",
                            created_at="2026-01-01T00:00:00.000000Z", content={"decision_id": "d"})
    assert old["retention"] is None and "retention" not in domain.content_envelope(old)
    new = domain.new_record(1, old["hash"], org_id=ORG, kind="leave", record_id="r2", source_event_id="e2",
                            created_at="2026-01-01T00:00:00.000000Z", content={"leave_id": "l"}, retention="10y")
    assert verify([old, new], (2, new["hash"]))["ok"] is True


# ------------------------------------------------------------------ A2 rollback (issue 17, defect 6)


def test_a2_a_chain_rolled_back_behind_a_signed_checkpoint_is_refused():
    """Deleting the last records and moving the head back used to verify: a checkpoint signed at a
    later seq now says the chain was longer."""
    records = chain(5)
    signed = {5: records[4]["hash"]}
    rolled_back = records[:3]
    assert verify(rolled_back, head_of(rolled_back))["ok"] is True          # what the head alone sees
    assert verify(rolled_back, head_of(rolled_back), checkpoints=signed) == {
        "ok": False, "records": 3, "first_bad": {"seq": 4, "record_id": None, "reason": "behind_checkpoint"}}
    assert verify(records, head_of(records), checkpoints=signed)["ok"] is True


def test_a2_a_chain_rewritten_after_a_checkpoint_is_refused_at_the_checkpoint():
    """A tail rebuilt with valid hashes (content, head and all) no longer passes through the signed head."""
    records = chain(4)
    signed = {3: records[2]["hash"]}
    forged = build_chain(ORG, [(f"r{i}", f"e{i}", decision(i, title="改写")) for i in (1, 2, 3, 4)])[2:]
    relinked, last = [], records[1]["hash"]
    for rec in forged:
        envelope = domain.content_envelope(rec)
        rec = dict(rec, prev_hash=last, hash=domain.record_hash(last, envelope, rec["algorithm"]))
        relinked.append(rec)
        last = rec["hash"]
    relinked = records[:2] + relinked
    assert verify(relinked, head_of(relinked))["ok"] is True
    assert verify(relinked, head_of(relinked), checkpoints=signed)["first_bad"] == {
        "seq": 3, "record_id": "r3", "reason": "checkpoint_mismatch"}
