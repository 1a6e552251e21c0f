"""Property-based fuzzing of every operation of the live /openapi.json: never a 5xx.

Stateless and bounded: a few generated requests per operation (schema-valid and
schema-violating ones), once with a secretary's session and once without any,
against the whole suite running as real processes. Failures are collected over all
operations and reported together (operation, request, status, answer).
"""
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

EXAMPLES = 8            # per operation (valid and invalid cases mixed)
BUDGET_SECONDS = 90     # per test: the whole run is bounded
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def operations(suite):
    schema = schemathesis.openapi.from_url(suite.base + "/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]
    # logging out ends the session the other operations are fuzzed with: last
    ops.sort(key=lambda op: op.path == "/api/v1/auth/logout")
    assert len(ops) > 90, len(ops)
    return ops


def fuzz(suite, operations, token):
    http = requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures, sent = [], [0]
    started = time.monotonic()
    for op in operations:
        strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @FUZZ
        @given(case=strategy)
        def check(case):
            if case.headers:
                case.headers.pop("Authorization", None)
            response = case.call(base_url=suite.base, session=http, headers=dict(headers), timeout=30)
            sent[0] += 1
            if response.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path}: {response.request.method} {response.request.url} "
                                f"body={case.body!r:.300} -> {response.status_code} {response.text[:300]}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:     # noqa: B036  one report per operation (failures come as groups)
            if not failures or op.path not in failures[-1]:
                failures.append(f"{op.method.upper()} {op.path}: {type(exc).__name__}: {str(exc)[:500]}")
    elapsed = time.monotonic() - started
    http.close()
    print(f"fuzzed {len(operations)} operations with {sent[0]} requests in {elapsed:.1f} s")
    return failures, sent[0], elapsed


def test_no_server_error_as_secretary(suite, operations):
    token = login(suite.base, "secretary")[0].token
    failures, sent, elapsed = fuzz(suite, operations, token)
    assert not failures, f"{len(failures)} operations answered 5xx ({sent} requests):\n" + "\n".join(failures)
    assert sent >= len(operations), sent
    assert elapsed < BUDGET_SECONDS, elapsed


def test_no_server_error_without_session(suite, operations):
    failures, sent, elapsed = fuzz(suite, operations, None)
    assert not failures, f"{len(failures)} operations answered 5xx ({sent} requests):\n" + "\n".join(failures)
    assert sent >= len(operations), sent
    assert elapsed < BUDGET_SECONDS, elapsed
