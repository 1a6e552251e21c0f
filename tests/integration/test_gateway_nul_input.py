"""A NUL character anywhere in the input is refused with a 400 naming where it was (found by
`make chaos`: the stateful fuzzer's ``GET /api/v1/ballots?meeting_id=¿\\x009/`` reached a
service on PostgreSQL, whose text columns cannot hold NUL, and came back as a 503)."""
import time

import pytest
import requests

from services.gateway.demo import DEMO_PASSWORD
from services.gateway.service import GatewayService
from services.meetings.service import MeetingsService
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def api(container_factory, pg_url, postgres):
    meetings_db = postgres.create_database()
    container_factory(MeetingsService, database_url=meetings_db).start()
    port = free_port()
    container_factory(GatewayService, database_url=pg_url, DEMO_SEED="1", GATEWAY_HOST="127.0.0.1",
                      GATEWAY_PORT=str(port), WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RPC_TIMEOUT="5").start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:     # the demo seed runs in the background after start
        r = requests.post(base + "/api/v1/auth/login", json={"username": "secretary", "password": DEMO_PASSWORD},
                          timeout=20)
        if r.status_code == 200:
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.3)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {r.json()['token']}"
    yield base, session
    session.close()


def refused(r, field):
    assert r.status_code == 400, f"{r.status_code}: {r.text}"
    error = r.json()["error"]
    assert error["field"] == field and "NUL" in error["message"], error


def test_nul_in_a_path_a_query_or_a_body_is_a_400_not_a_5xx(api):
    base, s = api
    refused(s.get(base + "/api/v1/meetings/ab%00c", timeout=20), "path")
    refused(s.get(base + "/api/v1/ballots?meeting_id=%C2%BF%009%2F", timeout=20), "meeting_id")
    refused(s.get(base + "/api/v1/meetings?kind=x%00", timeout=20), "kind")
    refused(s.post(base + "/api/v1/meetings", timeout=20,
                   json={"kind": "emergency", "emergency_reason": "突发险情", "title": "a\u0000b",
                         "scheduled_at": "2030-01-01T10:00:00+00:00"}),
            "title")
    assert s.get(base + "/api/v1/meetings", timeout=20).json()["items"] == []     # nothing was written
    # the same requests without the NUL are served by the meetings service on PostgreSQL
    assert s.get(base + "/api/v1/meetings/abc", timeout=20).status_code == 404
    r = s.post(base + "/api/v1/meetings", timeout=20,
               json={"kind": "emergency", "emergency_reason": "突发险情", "title": "ab", "scheduled_at": "2030-01-01T10:00:00+00:00"})
    assert r.status_code == 201, r.text
