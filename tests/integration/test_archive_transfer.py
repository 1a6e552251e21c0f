"""The yearly transfer package for the records office (A1, A2), on a real RabbitMQ, SQLite and
PostgreSQL: every record of an organization's year with the checkpoints signed in it, verified
offline by the standalone verifier handed over with it; the years link; one altered byte is
named by its line; confidential records need a role that reads them (A3)."""
import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy.orm import Session

from services.archive import chain
from services.archive.service import ArchiveService
from shared.db import make_engine
from shared.errors import Forbidden, NotFound, RuleViolation
from tests.integration.test_archive_rpc import ORG_A, SEC_A, decision
from tests.support.roster import actor

pytestmark = pytest.mark.integration
MEMBER_A = actor("p-mem-a", ORG_A, "member")


@pytest.fixture
def archive(container_factory, rpc_client, database_url):
    container_factory(ArchiveService, database_url=database_url).start()
    return rpc_client().archive


def append_at(database_url, when, i, category="work_plan"):
    engine = make_engine(database_url)
    try:
        with Session(engine) as s, s.begin():
            chain.append(s, org_id=ORG_A, kind="decision", subject_id=f"d-{i}", source_event_id=f"e-{i}",
                         content=decision(i, category=category), record_id=f"r-{i}", now=when,
                         classification="confidential" if category == "personnel" else "internal")
    finally:
        engine.dispose()


def offline(path, key):
    done = subprocess.run([sys.executable, "tools/verify_export.py", str(path), "--public-key", key],
                          capture_output=True, text=True)
    return done.returncode, done.stdout.strip()


def test_a2_a_years_package_verifies_offline_links_to_the_year_before_and_names_an_altered_line(
        archive, database_url, tmp_path):
    for i, day in enumerate((dt.datetime(2025, 3, 1), dt.datetime(2025, 12, 31, 23, 59)), 1):
        append_at(database_url, day.replace(tzinfo=dt.timezone.utc), i)
    archive.sign_checkpoint(SEC_A, ORG_A)                          # a checkpoint inside 2025 (seq 2)
    for i in (3, 4, 5):
        append_at(database_url, dt.datetime(2026, 2, i, tzinfo=dt.timezone.utc), i)
    old = archive.transfer_package(SEC_A, ORG_A, 2025)
    new = archive.transfer_package(SEC_A, ORG_A, 2026)
    assert (old["first_seq"], old["last_seq"], old["records"]) == (1, 2, 2)
    assert (new["first_seq"], new["last_seq"], new["records"]) == (3, 5, 3)
    assert "def verify_lines" in new["verifier"]
    key = archive.public_key()["public_key"]
    assert new["public_key"] == key
    paths = {}
    for package in (old, new):
        paths[package["year"]] = tmp_path / f"{package['filename']}.jsonl"
        paths[package["year"]].write_text(package["package"], encoding="utf-8")
    assert offline(paths[2025], key) == (0, f"ok: 2 records of {ORG_A} for 2025 (seq 1-2), chain intact up to "
                                            "the signed checkpoint")
    assert offline(paths[2026], key)[0] == 0
    # the years chain together: 2026 starts from the last hash of 2025's package
    import json
    old_lines = [json.loads(x) for x in old["package"].splitlines()]
    new_header = json.loads(new["package"].splitlines()[0])["package"]
    assert new_header["prev_hash"] == old_lines[-1]["checkpoint"]["head_hash"]
    assert new_header["retention"]["r-3"]["retention_label"] == "永久"
    # the 2026 package ends with a checkpoint signed at its last record; 2025 keeps the one signed in it
    assert json.loads(new["package"].splitlines()[-1])["checkpoint"]["seq"] == 5
    # one altered byte is named by its line
    lines = new["package"].splitlines(keepends=True)
    lines[2] = lines[2].replace('"yes":5', '"yes":6')
    paths[2026].write_text("".join(lines), encoding="utf-8")
    code, out = offline(paths[2026], key)
    assert code == 1 and out.startswith("line 3: hash does not match the content (seq 4")
    # a record left out is named too
    lines = new["package"].splitlines(keepends=True)
    del lines[2]
    paths[2026].write_text("".join(lines), encoding="utf-8")
    code, out = offline(paths[2026], key)
    assert code == 1 and out.startswith("line 3:")


def test_a3_a_year_with_confidential_records_is_handed_over_only_by_who_reads_them(archive, database_url):
    append_at(database_url, dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc), 1, category="personnel")
    office = actor("p-office-a", ORG_A, "office")
    with pytest.raises(Forbidden) as err:
        archive.transfer_package(office, ORG_A, 2026)
    assert err.value.rule == "A3"
    with pytest.raises(Forbidden):
        archive.transfer_package(MEMBER_A, ORG_A, 2026)
    assert archive.transfer_package(SEC_A, ORG_A, 2026)["records"] == 1
    log = archive.read_log(SEC_A, ORG_A)["items"]
    assert [(r["person_id"], r["action"], r["granted"]) for r in log] == [
        ("p-sec-a", "transfer_package", True), ("p-office-a", "transfer_package", False)]
    with pytest.raises(NotFound) as err:
        archive.transfer_package(SEC_A, ORG_A, 2024)
    assert err.value.field == "year"
    with pytest.raises(RuleViolation) as err:
        archive.transfer_package(SEC_A, ORG_A, 1999)
    assert err.value.field == "year"
