"""Stage 7: bad input against the chaos run's gateway (PostgreSQL, after the chaos).

- schemathesis, stateless: every operation of the live /openapi.json, schema-valid and
  schema-violating requests, with a secretary's session and without any (the fuzzer of
  tests/e2e/test_api_fuzz.py);
- schemathesis, stateful: the same OpenAPI with links added (a created resource's id,
  e.g. ``meeting_id`` from ``POST /api/v1/meetings``, feeds every operation whose path
  names it), run as a state machine (``schema.as_state_machine()``): sequences such as
  create meeting -> add topic -> notice -> open -> ballot -> vote, with generated data;
- oversized bodies: a declared 50 MB body answered 413 after a few KB were sent
  (refused early, never read), a chunked body over 1 MiB refused, on several routes.

Every 5xx is counted; none is allowed.
"""
import socket
import time

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error

from tests.e2e.test_api_fuzz import fuzz

SKIP_STATEFUL = ("/api/v1/auth/",)     # logging out or changing the password ends the session the machine uses


def id_field(path):
    """``/api/v1/meetings`` -> ``meeting_id``; ``/api/v1/meetings/{meeting_id}/topics`` -> ``topic_id``."""
    last = path.rstrip("/").split("/")[-1]
    if last.startswith("{"):
        return None
    stem = {"persons": "person", "organizations": "org", "cases": "case"}.get(last)
    return f"{stem or (last[:-1] if last.endswith('s') else last)}_id"


def add_links(raw):
    """OpenAPI links from each creating operation to every operation that names what it created."""
    ops = [(path, method, op) for path, item in raw["paths"].items() for method, op in item.items()
           if isinstance(op, dict) and "operationId" in op]
    added = 0
    for path, method, op in ops:
        if method != "post":
            continue
        field = id_field(path)
        status = next((s for s in op.get("responses", {}) if s.startswith("2")), None)
        if field is None or status is None:
            continue
        own = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
        for target_path, target_method, target in ops:
            names = [p["name"] for p in target.get("parameters", []) if p.get("in") == "path"]
            if field not in names or (target_path, target_method) == (path, method):
                continue
            params = {}
            for name in names:
                if name == field:
                    params[f"path.{name}"] = f"$response.body#/{name}"
                elif name in own:
                    params[f"path.{name}"] = f"$request.path.{name}"
                else:
                    break
            else:
                links = op["responses"][status].setdefault("links", {})
                links[f"{target['operationId']}"] = {"operationId": target["operationId"], "parameters": params}
                added += 1
    return added


def stateful(base, token, max_examples, log):
    raw = requests.get(base + "/openapi.json", timeout=10).json()
    raw["paths"] = {p: v for p, v in raw["paths"].items() if not p.startswith(SKIP_STATEFUL)}
    links = add_links(raw)
    schema = schemathesis.openapi.from_dict(raw)
    session = requests.Session()
    seen = {"requests": 0, "server_errors": [], "statuses": {}}

    class Machine(schema.as_state_machine()):
        def before_call(self, case):
            if case.headers:
                case.headers.pop("Authorization", None)      # the session below, not a generated one

        def get_call_kwargs(self, case):
            return {"base_url": base, "session": session, "headers": {"Authorization": f"Bearer {token}"},
                    "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            seen["requests"] += 1
            seen["statuses"][response.status_code] = seen["statuses"].get(response.status_code, 0) + 1
            if response.status_code >= 500:
                seen["server_errors"].append(f"{case.method} {case.formatted_path} -> {response.status_code} "
                                             f"{response.text[:300]}")
            case.validate_response(response, checks=[not_a_server_error])

    t0 = time.monotonic()
    failures = []
    try:
        Machine.run(settings=hypothesis.settings(max_examples=max_examples, stateful_step_count=12, deadline=None,
                                                 derandomize=True, database=None,
                                                 suppress_health_check=list(HealthCheck)))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:       # noqa: B036  a failing check arrives as an exception group
        failures.append(f"{type(exc).__name__}: {str(exc)[:500]}")
    session.close()
    log(f"  stateful: {links} links, {seen['requests']} requests in {time.monotonic() - t0:.0f} s, "
        f"statuses {dict(sorted(seen['statuses'].items()))}, 5xx {len(seen['server_errors'])}")
    for line in (seen["server_errors"] + failures)[:5]:
        log(f"    {line}")
    return seen["requests"], len(seen["server_errors"]) + (len(failures) if not seen["server_errors"] else 0)


def _raw(port, head, chunks, timeout=10):
    """Send ``head`` then ``chunks`` (stopping when the server answers); the status and seconds taken."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except OSError:
                break
        try:
            answer = s.recv(200)
        except OSError:
            answer = b""
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/") else None
    return status, time.monotonic() - t0


def oversized(port, token, log):
    routes = ["/api/v1/auth/login", "/api/v1/meetings", "/api/v1/ballots", "/api/v1/persons"]
    results = []
    for path in routes:
        for auth in (f"Authorization: Bearer {token}\r\n", ""):
            # declared 50 MB, only 64 KB sent: answered without reading the rest
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}"
                    f"Content-Length: 50000000\r\nConnection: close\r\n\r\n").encode()
            results.append((path, "declared", *_raw(port, head, [b"[" + b"1," * 32000])))
            # chunked, 2 MiB: no length to check first, refused while reading
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}"
                    f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
            piece = b"1," * 32768
            chunks = [b"%x\r\n" % (len(piece) + 1) + b"[" + piece + b"\r\n"]
            chunks += [b"%x\r\n" % len(piece) + piece + b"\r\n"] * 31 + [b"0\r\n\r\n"]
            results.append((path, "chunked", *_raw(port, head, chunks)))
    # refused early: a 413 for a declared length; for a chunked body (no length to check) any 4xx
    # before the server has read it
    bad = [r for r in results if not (r[2] == 413 if r[1] == "declared" else (r[2] or 0) // 100 == 4)
           or r[3] > 2.0]
    chunked = sorted({r[2] for r in results if r[1] == "chunked"})
    log(f"  oversized bodies: {len(results)} sent, {len(results) - len(bad)} refused early "
        f"(declared 50 MB: 413; chunked 2 MiB: {chunked}; slowest {max(r[3] for r in results):.2f} s)"
        + (f"; not refused: {bad}" if bad else ""))
    return len(results), len(bad), sum(1 for r in results if r[2] is not None and r[2] >= 500)


class _Base:
    def __init__(self, base):
        self.base = base


def run(env, org, log=print, quick=False):
    base = f"http://127.0.0.1:{env.port}"
    token = org.tokens["secretary"]
    raw = requests.get(base + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    ops = [result.ok() for result in schema.get_all_operations()]
    ops.sort(key=lambda op: op.path == "/api/v1/auth/logout")
    t0 = time.monotonic()
    stateless_failures, stateless_sent = [], 0
    for session_token in (token, None):
        failures, sent, _ = fuzz(_Base(base), ops, session_token)
        stateless_failures += failures
        stateless_sent += sent
    log(f"  stateless: {len(ops)} operations, {stateless_sent} requests in {time.monotonic() - t0:.0f} s, "
        f"{len(stateless_failures)} failing operations")
    for line in stateless_failures[:5]:
        log(f"    {line[:400]}")
    # the stateless run logged the secretary out last: a fresh session for what follows
    from bench.common import login
    token = org.tokens["secretary"] = login(env.port, "secretary")[0]
    stateful_sent, stateful_errors = stateful(base, token, 10 if quick else 40, log)
    sent, not_refused, oversized_5xx = oversized(env.port, token, log)
    return {"operations": len(ops), "stateless_requests": stateless_sent, "stateful_requests": stateful_sent,
            "oversized": sent, "oversized_not_refused": not_refused,
            "server_errors": len(stateless_failures) + stateful_errors + oversized_5xx}
