"""V8: secret choices sealed under the ballot key; V9: only the sum is decrypted and it tallies.

No broker: the key, its file, and the close's count over a mixed box (entries in clear left by
a version before sealing, plus sealed ones) on an in-memory SQLite session.
"""
import itertools
import json
import os
import random
import stat
import types
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.voting import ballot_key, domain, models
from services.voting.ballot_key import BallotKeyError, SealedBoxError
from services.voting.service import BallotKeyProvider, _tally
from shared.errors import RuleViolation, ServiceUnavailable

BITS = 1024        # tests: a smaller key for speed; deployments 2048 (the default)


@pytest.fixture(scope="module")
def key():
    return ballot_key.BallotKey(ballot_key.generate(BITS))


@pytest.fixture(scope="module")
def other_key():
    return ballot_key.BallotKey(ballot_key.generate(BITS))


def test_each_choice_is_one_base_b_digit_and_sums_decode_to_the_counts():
    assert [ballot_key.encode(c) for c in ("yes", "no", "abstain")] == [1, ballot_key.BASE, ballot_key.BASE ** 2]
    for yes, no, abstain in itertools.product(range(4), repeat=3):
        total = yes * 1 + no * ballot_key.BASE + abstain * ballot_key.BASE ** 2
        assert ballot_key.decode(total, yes + no + abstain) == {"yes": yes, "no": no, "abstain": abstain}
    with pytest.raises(ValueError):
        ballot_key.encode("maybe")


def test_a_sum_that_is_not_one_choice_per_entry_is_refused():
    with pytest.raises(SealedBoxError, match="V9"):
        ballot_key.decode(2, 1)                     # one entry claiming two yes
    with pytest.raises(SealedBoxError, match="V9"):
        ballot_key.decode(ballot_key.BASE ** 3, 1)  # beyond the three digits


def test_seal_then_count_round_trips_and_decrypts_only_the_sum(key):
    rng = random.Random(17)
    for size in (0, 1, 7, 40):
        plan = [rng.choice(domain.CHOICES) for _ in range(size)]
        sealed = [key.seal(c) for c in plan]
        assert key.count(sealed) == domain.tally(plan)
        # the key holder could open one entry (the residual risk, docs/security.md)
        assert [key.open_one(s) for s in sealed] == plan


def test_sealed_entries_are_randomised_and_name_no_choice(key):
    sealed = [key.seal("yes") for _ in range(5)] + [key.seal("no") for _ in range(5)]
    assert len(set(sealed)) == 10                   # equal choices, different rows
    for text in sealed:
        assert text.startswith(f"paillier:{key.key_id}:")
        body = text.split(":", 2)[2]
        assert set(body) <= set("0123456789abcdef")
        assert not any(c in text for c in ("yes", "abstain")) and "no" not in body
    # whoever holds only the public key cannot test a guess: a fresh encryption never repeats a row
    guesses = {key.seal(c) for c in domain.CHOICES for _ in range(3)}
    assert not guesses & set(sealed)


def test_entries_sealed_under_another_key_are_refused_as_v8(key, other_key):
    with pytest.raises(SealedBoxError) as info:
        other_key.count([key.seal("yes")])
    assert info.value.rule == "V8" and key.key_id in str(info.value) and other_key.key_id in str(info.value)
    for bad in ("paillier:" + key.key_id + ":zz", "plain", "paillier:" + key.key_id + ":0",
                "paillier:" + key.key_id + ":" + format(key.public_key.nsquare, "x")):
        with pytest.raises(SealedBoxError) as info:
            key.count([bad])
        assert info.value.rule == "V9"


# ---------------------------------------------------------------- the key file

def test_the_key_file_is_made_once_with_mode_0600_and_read_again(tmp_path):
    path = tmp_path / "secrets" / "voting-ballot.key"
    made = ballot_key.key_from_file(path, create=True, bits=BITS)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = ballot_key.key_from_file(path, create=True, bits=BITS)
    assert again.key_id == made.key_id and again.bits == made.bits >= BITS
    assert made.count([again.seal("abstain")]) == {"yes": 0, "no": 0, "abstain": 1}
    assert [p.name for p in path.parent.iterdir()] == ["voting-ballot.key"]   # no temporary left


def wrong_files(tmp_path, key):
    good = json.loads(ballot_key.key_text(key.private_key))
    p, q = int(good["p"], 16), int(good["q"], 16)
    cases = {
        "not json": "not a key",
        "another scheme": json.dumps({**good, "scheme": "rsa"}),
        "missing q": json.dumps({k: v for k, v in good.items() if k != "q"}),
        "not hex": json.dumps({**good, "p": "xyz"}),
        "p*q is not n": json.dumps({**good, "n": format(p * q + 2, "x")}),
        "not prime": json.dumps({**good, "p": format(p * 3, "x"), "q": format(q, "x"), "n": format(p * 3 * q, "x")}),
    }
    for name, text in cases.items():
        path = tmp_path / name.replace(" ", "-")
        path.write_text(text)
        yield name, path


def test_a_wrong_key_file_is_refused_with_a_clear_error(tmp_path, key):
    for name, path in wrong_files(tmp_path, key):
        with pytest.raises(BallotKeyError, match=r"V8: the ballot key file .*" + path.name) as info:
            ballot_key.key_from_file(path, bits=BITS)
        assert "ballot key" in str(info.value), name
    with pytest.raises(BallotKeyError, match="cannot be read"):
        ballot_key.key_from_file(tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_text(ballot_key.key_text(key.private_key))
    with pytest.raises(BallotKeyError, match=f"{key.bits}-bit key; at least 2048 bits are required"):
        ballot_key.key_from_file(short)          # the default size is required


def start(config):
    provider = BallotKeyProvider()
    provider.container = types.SimpleNamespace(config=config)
    provider.setup()
    return provider.get_dependency(None)


def test_the_service_reads_its_key_at_start_and_refuses_a_wrong_or_missing_one(tmp_path, key, monkeypatch):
    for name in ("VOTING_BALLOT_KEY_FILE", "VOTING_REQUIRE_BALLOT_KEY", "VOTING_BALLOT_KEY_BITS"):
        monkeypatch.delenv(name, raising=False)
    good = tmp_path / "ballot.key"
    good.write_text(ballot_key.key_text(key.private_key))
    assert start({"VOTING_BALLOT_KEY_FILE": str(good), "VOTING_BALLOT_KEY_BITS": str(BITS)}).key_id == key.key_id
    for _name, path in wrong_files(tmp_path, key):
        with pytest.raises(BallotKeyError, match=path.name):
            start({"VOTING_BALLOT_KEY_FILE": str(path), "VOTING_BALLOT_KEY_BITS": str(BITS)})
    with pytest.raises(BallotKeyError, match="VOTING_BALLOT_KEY_FILE must name"):
        start({"VOTING_REQUIRE_BALLOT_KEY": "1"})
    with pytest.raises(BallotKeyError, match="VOTING_BALLOT_KEY_BITS"):
        start({"VOTING_BALLOT_KEY_BITS": "512", "DATA_DIR": str(tmp_path)})
    # development: made once in DATA_DIR, the same key at the next start
    made = start({"DATA_DIR": str(tmp_path / "data"), "VOTING_BALLOT_KEY_BITS": str(BITS)})
    assert (tmp_path / "data" / "voting-ballot.key").exists()
    assert start({"DATA_DIR": str(tmp_path / "data"), "VOTING_BALLOT_KEY_BITS": str(BITS)}).key_id == made.key_id


# ---------------------------------------------------------------- the close's count (mixed boxes)

@pytest.fixture
def session():
    engine = sa.create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def secret_ballot(s, box_key=None):
    ballot = types.SimpleNamespace(id=str(uuid.uuid4()), method="secret", count_yes=None, box_key=box_key)
    s.execute(sa.text("INSERT INTO ballots (id, org_id, meeting_id, agenda_item_id, title, category, method, "
                      "emergency, chair_person_id, n, present, status, opened_by, opened_at) VALUES "
                      "(:id, 'o', 'm', 't', 'x', 'work_plan', 'secret', 1, 'c', 20, 20, 'open', 'c', "
                      "'2027-01-01 00:00:00')"), {"id": ballot.id})
    return ballot


def vote(s, ballot, person, plain=None, sealed=None):
    s.add(models.Participation(ballot_id=ballot.id, person_id=person, reserved_opinion=None))
    s.add(models.BoxEntry(id=str(uuid.uuid4()), ballot_id=ballot.id, choice=plain, sealed=sealed))
    s.flush()


def test_a_mixed_box_counts_plain_and_sealed_entries_and_is_rewritten_sealed(session, key):
    ballot = secret_ballot(session)                  # opened before sealing: no box key
    legacy = ["yes", "no", "yes", "abstain"]         # written in clear by the earlier version
    sealed = ["yes", "yes", "no", "abstain", "no"]
    for i, c in enumerate(legacy):
        vote(session, ballot, f"p{i}", plain=c)
    for i, c in enumerate(sealed):
        vote(session, ballot, f"q{i}", sealed=key.seal(c))
    assert _tally(session, ballot, key) == {"yes": 4, "no": 3, "abstain": 2}
    box = session.execute(sa.select(models.BoxEntry.choice, models.BoxEntry.sealed)
                          .where(models.BoxEntry.ballot_id == ballot.id)).all()
    assert len(box) == 9 and all(choice is None for choice, _ in box)     # nothing left in clear
    assert key.count([s for _, s in box]) == {"yes": 4, "no": 3, "abstain": 2}


def test_a_box_that_does_not_match_the_roll_or_the_key_is_not_counted(session, key, other_key):
    ballot = secret_ballot(session, box_key=key.key_id)
    vote(session, ballot, "p0", sealed=key.seal("yes"))
    session.execute(sa.insert(models.Participation).values(ballot_id=ballot.id, person_id="p1"))
    with pytest.raises(RuleViolation, match="V9"):                # 1 entry, 2 on the roll
        _tally(session, ballot, key)
    with pytest.raises(ServiceUnavailable, match="V8") as info:  # a replica holding another key
        _tally(session, ballot, other_key)
    assert info.value.rule == "V8"
    legacy = secret_ballot(session)                              # no box key: the entries tell
    vote(session, legacy, "p0", sealed=key.seal("no"))
    with pytest.raises(ServiceUnavailable, match="V8"):
        _tally(session, legacy, other_key)
