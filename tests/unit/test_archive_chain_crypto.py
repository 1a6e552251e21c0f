"""A2 without a broker or database: SM3 (GB/T 32905-2016), mixed-algorithm chains, the canonical
JSON fast path against the general serializer, signed checkpoints, exports verified offline by
the standalone script (in a subprocess), A1 record kinds and A3 read rules."""
import base64
import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.archive import domain, signing
from services.archive.domain import CanonicalizationError, build_chain, canonical_json, canonical_json_general
from shared.actor import Actor
from shared.errors import Forbidden, RuleViolation

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_export.py"
ORG = "org-1"

# ------------------------------------------------------------------ SM3 (A2)


def test_a2_sm3_pure_python_matches_the_standard_test_vectors():
    # GB/T 32905-2016 Appendix A: example 1 ("abc") and example 2 ("abcd" x 16, 64 bytes: two blocks padded)
    assert domain.sm3_pure(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert domain.sm3_pure(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert domain.digest("sm3", b"abc") == domain.sm3_pure(b"abc")


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000])
def test_a2_sm3_in_use_equals_the_pure_python_one_at_every_padding_boundary(size):
    data = bytes((i * 37 + size) % 256 for i in range(size))
    assert domain.sm3(data) == domain.sm3_pure(data)
    assert len(domain.sm3_pure(data)) == 64 and domain.sm3_pure(data) != hashlib.sha256(data).hexdigest()


def test_a2_unknown_hash_algorithm_is_refused():
    with pytest.raises(ValueError, match="A2"):
        domain.digest("md5", b"x")
    with pytest.raises(ValueError, match="A2"):
        domain.new_record(0, domain.GENESIS_HASH, org_id=ORG, kind="decision", record_id="r",
                          source_event_id="e", created_at="t", content={}, algorithm="md5")


# ------------------------------------------------------------------ chains with their algorithm (A2)


def decision(i):
    return {"decision_id": f"d{i}", "title": f"议题{i}", "category": "work_plan", "yes": 5, "no": 1,
            "members": [{"person_id": "p1", "stance": "no", "reserved_opinion": "资金来源需进一步论证"}]}


def entries(n):
    return [(f"r{i}", f"e{i}", decision(i)) for i in range(1, n + 1)]


def test_a2_sm3_record_hash_is_sm3_of_prev_hash_newline_envelope():
    rec = build_chain(ORG, entries(1), algorithm="sm3")[0]
    envelope = domain.content_envelope(rec)
    expected = domain.sm3_pure(("0" * 64 + "\n" + canonical_json(envelope)).encode("utf-8"))
    assert rec["algorithm"] == "sm3" and rec["hash"] == expected
    assert rec["hash"] != build_chain(ORG, entries(1))[0]["hash"]


def test_a2_verify_handles_a_chain_that_changed_algorithm_and_names_tampering_in_either_part():
    records = build_chain(ORG, entries(6), algorithm=lambda i: "sha256" if i < 3 else "sm3")
    assert [r["algorithm"] for r in records] == ["sha256"] * 3 + ["sm3"] * 3
    head = (records[-1]["seq"], records[-1]["hash"])
    assert domain.verify(records, head) == {"ok": True, "records": 6, "first_bad": None}
    for seq in (2, 5):
        tampered = copy.deepcopy(records)
        tampered[seq - 1]["content"]["yes"] = 6
        assert domain.verify(tampered, head)["first_bad"] == {"seq": seq, "record_id": f"r{seq}",
                                                              "reason": domain.CONTENT_ALTERED}
    # relabelling a record's algorithm does not make its hash fit
    relabelled = copy.deepcopy(records)
    relabelled[4]["algorithm"] = "sha256"
    assert domain.verify(relabelled, head)["first_bad"]["reason"] == domain.CONTENT_ALTERED


def test_a1_a2_correction_reason_and_author_are_hashed_only_when_present():
    base = build_chain(ORG, entries(1))[0]
    assert set(domain.content_envelope(base)) == set(domain.ENVELOPE_FIELDS)    # old records hash as before
    fix = domain.new_record(1, base["hash"], org_id=ORG, kind="decision", record_id="r2", source_event_id="c1",
                            created_at="t", content=dict(decision(1), yes=6), corrects="r1",
                            reason="计票笔误", recorded_by="p-sec")
    assert domain.content_envelope(fix)["reason"] == "计票笔误"
    head = (2, fix["hash"])
    assert domain.verify([base, fix], head)["ok"] is True
    for field, value in (("reason", "另一个理由"), ("recorded_by", "p-other"), ("corrects", None)):
        tampered = dict(fix, **{field: value})
        assert domain.verify([base, tampered], head)["first_bad"] == {
            "seq": 2, "record_id": "r2", "reason": domain.CONTENT_ALTERED}, field


def test_a1_only_the_latest_version_is_corrected():
    domain.check_correctable(None)
    with pytest.raises(RuleViolation) as err:
        domain.check_correctable("r-newer")
    assert err.value.rule == "A1" and err.value.field == "record_id"


# ------------------------------------------------------------------ canonical JSON fast path (A2)

json_leaf = st.none() | st.booleans() | st.integers(-(2 ** 53) + 1, 2 ** 53 - 1) | st.text()
json_values = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_a2_fast_path_equals_the_general_rfc8785_serializer(value):
    try:
        expected = canonical_json_general(value)
    except CanonicalizationError:                 # lone surrogates: both refuse
        with pytest.raises(CanonicalizationError):
            canonical_json(value)
        with pytest.raises(CanonicalizationError):
            domain.canonical_bytes(value)
        return
    assert canonical_json(value) == expected
    assert domain.canonical_bytes(value) == expected.encode("utf-8")


def test_a2_fast_path_falls_back_where_the_c_encoder_would_differ():
    # keys beyond U+FFFF sort by UTF-16 code units; floats print as ECMAScript; tuples; int keys refused
    value = {"\U0001F600": 1, "\ufb33": 2, "a": [1.0, 1e30, (1, 2)]}
    assert canonical_json(value) == '{"a":[1,1e+30,[1,2]],"\U0001F600":1,"\ufb33":2}'
    assert not domain._plain(value)
    assert domain._plain({"中文键": ["值", 1, None, True, {"k": -5}]})
    for bad in ({1: "x"}, {"k": 2 ** 53}, {"k": "\ud800"}, {"k": float("nan")}):
        with pytest.raises(CanonicalizationError):
            domain.canonical_bytes(bad)


# ------------------------------------------------------------------ A1 record kinds, A3 classification


def test_a1_event_table_maps_each_archived_event_to_a_kind_and_classification():
    decision_spec = domain.archived_event("voting", "result_decided")
    assert decision_spec.kind == "decision" and decision_spec.subject_field == "decision_id"
    assert decision_spec.classify({"category": "work_plan"}) == "internal"          # A3 default
    assert decision_spec.classify({"category": "personnel"}) == "confidential"      # A3 personnel
    notice = domain.archived_event("meetings", "meeting_noticed")
    assert (notice.kind, notice.subject_field, notice.classify({})) == ("notice", "meeting_id", "internal")
    for spec in domain.ARCHIVED_EVENTS.values():
        assert spec.kind in domain.RECORD_KINDS
    with pytest.raises(ValueError, match="A1"):
        domain.archived_event("voting", "ballot_opened")


def test_a1_every_archived_event_has_its_queue_and_its_handler():
    """The event table, the broker topology and the service's durable handlers stay in step."""
    from services.archive.service import ArchiveService
    from shared import topology
    assert tuple(domain.ARCHIVED_EVENTS) == topology.ARCHIVED_EVENTS
    subscribed = {(s, e) for s, e, service, method in topology.SUBSCRIPTIONS
                  if service == "archive" and method == f"on_{e}"}
    assert subscribed == set(domain.ARCHIVED_EVENTS)
    for source, event_type in domain.ARCHIVED_EVENTS:
        (entrypoint,) = getattr(ArchiveService, f"on_{event_type}").nameko_entrypoints
        assert (entrypoint.source_service, entrypoint.event_type) == (source, event_type)


def test_a3_cases_are_confidential_whatever_their_content():
    for event_type in ("case_opened", "case_concluded"):
        assert domain.archived_event("accountability", event_type).classify({}) == "confidential"
    assert domain.archived_event("meetings", "topic_accepted").classify({"category": "personnel"}) == "confidential"
    assert domain.archived_event("meetings", "leave_requested").classify({}) == "internal"


def test_a1_an_event_without_its_subject_is_refused():
    spec = domain.archived_event("meetings", "minutes_approved")
    assert domain.check_subject(spec, {"minutes_id": "mi-1"}) == "mi-1"
    assert domain.check_subject(domain.archived_event("meetings", "democratic_life_missing_detected"),
                                {"year": 2026}) == "2026"
    for bad in ({}, {"minutes_id": ""}, {"minutes_id": 3.5}, {"minutes_id": "x" * 65}):
        with pytest.raises(RuleViolation, match="minutes_id"):
            domain.check_subject(spec, bad)


def test_a1_search_aids_find_meeting_and_every_person_named():
    content = {"meeting_id": "m-1", "chair_person_id": "p0", "recipients": ["p1", "p2"],
               "members": [{"person_id": "p3"}, {"person_id": 7}, "junk"]}
    assert domain.meeting_of(content) == "m-1" and domain.meeting_of({"meeting_id": 5}) is None
    assert domain.persons_of(content) == {"p0", "p1", "p2", "p3"}


@pytest.mark.parametrize("role", domain.CONFIDENTIAL_READERS)
def test_a3_confidential_readers(role):
    actor = Actor("p", ORG, (role,))
    assert domain.read_refusal("confidential", actor) is None


@pytest.mark.parametrize("role", ["member", "office", "hr", "observer", "admin"])
def test_a3_other_roles_are_refused_confidential_but_read_internal(role):
    actor = Actor("p", ORG, (role,))
    refusal = domain.read_refusal("confidential", actor)
    assert isinstance(refusal, Forbidden) and refusal.rule == "A3"
    assert domain.read_refusal("internal", actor) is None and domain.read_refusal("public", actor) is None
    with pytest.raises(Forbidden):
        domain.check_read("confidential", actor)


# ------------------------------------------------------------------ checkpoints and export (A2)


@pytest.fixture(scope="module")
def key():
    private = signing.generate_private_key()
    return signing.load_private_key(private)


def checkpoint_for(records, key, org_id=ORG):
    seq, head_hash = (records[-1]["seq"], records[-1]["hash"]) if records else (0, domain.GENESIS_HASH)
    created_at = "2026-12-12T08:00:00.000000Z"
    return {"org_id": org_id, "seq": seq, "head_hash": head_hash, "created_at": created_at,
            "signature": signing.sign(key, domain.checkpoint_payload(org_id, seq, head_hash, created_at)),
            "public_key": signing.public_key_of(key), "algorithm": "ed25519"}


def test_a2_checkpoint_signature_covers_org_seq_head_and_time(key):
    cp = checkpoint_for(build_chain(ORG, entries(2)), key)
    payload = domain.checkpoint_payload(cp["org_id"], cp["seq"], cp["head_hash"], cp["created_at"])
    assert json.loads(payload) == {"org_id": ORG, "seq": 2, "head_hash": cp["head_hash"],
                                   "created_at": cp["created_at"]}
    assert signing.verify_signature(cp["public_key"], payload, cp["signature"])
    for changed in (dict(cp, seq=3), dict(cp, head_hash="a" * 64), dict(cp, org_id="org-2"),
                    dict(cp, created_at="2027-01-01T00:00:00.000000Z")):
        other = domain.checkpoint_payload(changed["org_id"], changed["seq"], changed["head_hash"],
                                          changed["created_at"])
        assert not signing.verify_signature(cp["public_key"], other, cp["signature"])
    stranger = signing.public_key_of(signing.load_private_key(signing.generate_private_key()))
    assert not signing.verify_signature(stranger, payload, cp["signature"])


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_a2_malformed_signing_keys_are_refused(bad):
    with pytest.raises(ValueError, match="A2"):
        signing.load_private_key(bad)


def run_tool(path, *args, env=None):
    return subprocess.run([sys.executable, str(TOOL), str(path), *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=path.parent)


@pytest.fixture
def export_file(tmp_path, key):
    records = build_chain(ORG, entries(3), algorithm=lambda i: "sha256" if i < 2 else "sm3")
    records.append(domain.new_record(3, records[-1]["hash"], org_id=ORG, kind="decision", record_id="r4",
                                     source_event_id="c1", created_at="t", content=dict(decision(1), yes=6),
                                     corrects="r1", reason="计票笔误", recorded_by="p-sec", algorithm="sm3"))
    path = tmp_path / "export.jsonl"
    path.write_text(domain.export_text(records, checkpoint_for(records, key)), encoding="utf-8")
    return path


def test_a2_an_export_verifies_offline_with_only_the_script(export_file, key):
    lines = export_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and json.loads(lines[-1])["checkpoint"]["seq"] == 4
    assert all(canonical_json(json.loads(line)) == line for line in lines)
    # a bare interpreter in another folder: the script imports nothing of the suite
    result = run_tool(export_file, "--public-key", signing.public_key_of(key))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: 4 records of org-1" in result.stdout and result.stderr == ""
    unkeyed = run_tool(export_file)
    assert unkeyed.returncode == 0 and "pass --public-key" in unkeyed.stderr


def tamper(path, number, edit):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize("number, edit, reason", [
    (2, lambda line: line.replace('"yes":5', '"yes":6'), "hash does not match the content (seq 2"),
    (4, lambda line: line.replace("计票笔误", "另一个理由"), "hash does not match the content (seq 4"),
    (3, lambda line: line.replace('"classification":"internal"', '"classification":"public"'), "hash does not match"),
    (2, lambda line: "", "seq 3 where 2 was expected"),
    (1, lambda line: line.replace('"yes":5', '"yes": 5'), "not in canonical form"),
    (5, lambda line: line.replace('"seq":4', '"seq":3'), "checkpoint (seq 3) does not match"),
    (5, lambda line: "", "ends without its checkpoint"),
])
def test_a2_a_tampered_export_is_refused_at_the_exact_line(export_file, key, number, edit, reason):
    tamper(export_file, number, edit)
    result = run_tool(export_file, "--public-key", signing.public_key_of(key))
    assert result.returncode == 1
    expected_line = 5 if reason.startswith("ends") else number
    assert result.stdout.startswith(f"line {expected_line}: ") and reason in result.stdout, result.stdout


def test_a2_a_forged_signature_or_another_key_is_refused(export_file, key, tmp_path):
    other = signing.load_private_key(signing.generate_private_key())
    result = run_tool(export_file, "--public-key", signing.public_key_of(other))
    assert result.returncode == 1 and "line 5: the checkpoint was signed by another key" in result.stdout
    # a forger re-signs with their own key and writes it in: the given key exposes it
    lines = export_file.read_text(encoding="utf-8").splitlines()
    cp = json.loads(lines[-1])["checkpoint"]
    forged = dict(cp, public_key=signing.public_key_of(other),
                  signature=signing.sign(other, domain.checkpoint_payload(cp["org_id"], cp["seq"], cp["head_hash"],
                                                                          cp["created_at"])))
    lines[-1] = canonical_json({"checkpoint": forged})
    export_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_tool(export_file, "--public-key", signing.public_key_of(key)).returncode == 1
    # a signature altered by one character
    cp_bad = dict(cp, signature=("A" if cp["signature"][0] != "A" else "B") + cp["signature"][1:])
    lines[-1] = canonical_json({"checkpoint": cp_bad})
    export_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_tool(export_file, "--public-key", signing.public_key_of(key))
    assert result.returncode == 1 and "line 5: the checkpoint signature is not valid" in result.stdout


def test_a2_without_the_cryptography_package_the_script_still_verifies_the_chain(export_file, key, tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "cryptography").mkdir(parents=True)
    (blocker / "cryptography" / "__init__.py").write_text("raise ImportError('not installed here')\n")
    env = dict(os.environ, PYTHONPATH=str(blocker))
    result = run_tool(export_file, "--public-key", signing.public_key_of(key), env=env)
    assert result.returncode == 0 and "signature NOT checked" in result.stderr
    tamper(export_file, 3, lambda line: line.replace('"yes":5', '"yes":7'))
    result = run_tool(export_file, env=env)
    assert result.returncode == 1 and result.stdout.startswith("line 3: hash does not match")


def test_a2_script_missing_file_is_exit_2(tmp_path):
    result = run_tool(tmp_path / "absent.jsonl")
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_a2_proof_names_hashes_and_whether_the_checkpoint_covers_the_record(key):
    records = build_chain(ORG, entries(3))
    cp = checkpoint_for(records[:2], key)
    first = domain.proof(records[0], cp)
    assert first["covered"] is True and first["prev_hash"] == domain.GENESIS_HASH
    assert domain.record_hash(first["prev_hash"], json.loads(first["canonical_envelope"])) == first["hash"]
    assert domain.proof(records[2], cp)["covered"] is False
    assert domain.proof(records[2], None) == dict(domain.proof(records[2], cp), checkpoint=None, covered=False)


# ------------------------------------------------------------------ A2: RFC 6962 consistency between checkpoints


def _hashes(n, salt=""):
    import hashlib
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(n)]


def test_a2_merkle_root_is_rfc6962_tree_hash():
    import hashlib
    hs = _hashes(3)
    leaf = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hs]
    node = lambda a, b: hashlib.sha256(b"\x01" + a + b).digest()    # noqa: E731
    assert domain.merkle_root(hs) == node(node(leaf[0], leaf[1]), leaf[2]).hex()     # split at 2 (§2.1)
    assert domain.merkle_root([]) == hashlib.sha256(b"").hexdigest()


def test_a2_consistency_proofs_hold_for_every_prefix_and_fail_for_a_rewritten_one():
    hs = _hashes(33)
    for n in range(34):
        for m in range(n + 1):
            proof = domain.consistency_proof(hs[:n], m)
            assert len(proof) <= 2 * max(n, 1).bit_length()
            assert domain.verify_consistency(m, n, domain.merkle_root(hs[:m]), domain.merkle_root(hs[:n]), proof)
            if 0 < m < n:
                forged = hs[:m - 1] + _hashes(n - m + 1, "forged")      # record m rewritten, chain regrown
                assert not domain.verify_consistency(m, n, domain.merkle_root(hs[:m]), domain.merkle_root(forged),
                                                     domain.consistency_proof(forged, m))
    # a shorter chain (rollback) is never consistent with the witnessed longer one
    assert not domain.verify_consistency(9, 5, domain.merkle_root(hs[:9]), domain.merkle_root(hs[:5]), [])
    assert not domain.verify_consistency(3, 5, "zz", domain.merkle_root(hs[:5]), ["nothex"])


def test_a2_the_witness_names_a_rewrite_a_rollback_and_a_lost_history():
    from services.accountability.domain import checkpoint_inconsistency
    hs = _hashes(10)
    first = {"seq": 4, "head_hash": hs[3], "tree_root": domain.merkle_root(hs[:4])}
    second = {"seq": 10, "head_hash": hs[9], "tree_root": domain.merkle_root(hs)}
    proof = {"from_seq": 4, "from_tree_root": first["tree_root"], "proof": domain.consistency_proof(hs, 4)}
    assert checkpoint_inconsistency(second, None, proof, first["tree_root"], earlier_seq=4) is None
    forged = hs[:2] + _hashes(8, "forged")
    rewritten = {"seq": 10, "head_hash": forged[9], "tree_root": domain.merkle_root(forged)}
    bad = {"from_seq": 4, "from_tree_root": domain.merkle_root(forged[:4]),
           "proof": domain.consistency_proof(forged, 4)}
    assert "rolled back or rewritten" in checkpoint_inconsistency(rewritten, None, bad, first["tree_root"], 4)
    assert "rewritten" in checkpoint_inconsistency(rewritten, {"head_hash": hs[9], "tree_root": None}, None, None)
    assert "lost its earlier checkpoints" in checkpoint_inconsistency(rewritten, None, None, None, earlier_seq=4)
    assert checkpoint_inconsistency(first, None, None, None, earlier_seq=None) is None    # the first one seen
