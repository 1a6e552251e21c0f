"""Stage 8 (on the chaos run's own gateway) and stage 9 (the security and bad-input tests
of the normal suite, run on the run's own broker).

Live checks, over HTTP, after the chaos:
- login brute force is slowed: wrong passwords lock the account (429, Retry-After), and
  while locked even the right password is refused;
- a session ends: after logout the token is refused (401); expiry itself (TTL) is the
  unit test ``test_a_token_expires_after_its_ttl`` of the selection;
- webhook URLs on loopback, private, link-local ranges or other schemes are refused (N2);
- another organization's decision is not readable by a member (404, no leak).
"""
import os
import re
import subprocess
import sys

from bench.common import Http, login
from chaos.broker import PrivateBroker

SELECTION = [
    "tests/e2e/test_authorization_matrix.py",
    "tests/e2e/test_bad_input.py",
    "tests/unit/test_gateway_auth.py",
    "tests/integration/test_gateway_http.py::test_login_me_and_refusals",
    "tests/integration/test_gateway_http.py::test_repeated_failures_lock_the_account_with_retry_after",
    "tests/integration/test_notifications_channels.py::"
    "test_n2_webhook_targets_on_loopback_private_link_local_or_other_schemes_are_refused",
    "tests/integration/test_voting_rules.py::test_v8_canary_no_table_log_or_event_links_a_secret_voter_to_a_choice",
    "tests/integration/test_archive_records.py::test_a3_personnel_decisions_are_confidential_and_every_read_is_logged",
    "tests/integration/test_rpc_broker_outage.py",
    "tests/integration/test_gateway_nul_input.py",
]
PRIVATE_TARGETS = ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.8/hook",
                   "http://172.16.5.4/hook", "http://192.168.1.20/hook", "http://169.254.169.254/latest/meta-data",
                   "http://[::1]/hook", "http://0.0.0.0/hook", "ftp://93.184.216.34/hook", "file:///etc/passwd"]


def run(env, org, log=print, foreign_decision=None):
    rows = []
    client = Http(env.port)
    # brute force: wrong passwords until the account locks
    statuses = []
    for _ in range(8):
        status, _ = client.post("/api/v1/auth/login", {"username": "member7", "password": "wrong-password"})
        statuses.append(status)
        if status == 429:
            break
    locked_at = statuses.index(429) + 1 if 429 in statuses else None
    right, _ = client.post("/api/v1/auth/login", {"username": "member7", "password": "demo-password-2026"})
    log(f"  brute force: answers {statuses}; the right password while locked: {right}")
    rows += [("wrong passwords tried before the lock (429)", locked_at or "never"),
             ("brute force not slowed (no lock, or right password accepted while locked)",
              int(locked_at is None or right != 429), True)]
    # logout ends the session
    token = login(env.port, "member6")[0]
    before, _ = client.get("/api/v1/me", token=token)
    client.post("/api/v1/auth/logout", token=token)
    after, _ = client.get("/api/v1/me", token=token)
    log(f"  session: /me {before} before logout, {after} after")
    rows.append(("sessions still valid after logout", int(not (before == 200 and after == 401)), True))
    # webhooks: no loopback, private or link-local target
    office = login(env.port, "office")[0]
    accepted = []
    for url in PRIVATE_TARGETS:
        status, body = client.post("/api/v1/webhooks", {"url": url, "event_types": ["meeting_notice"]}, token=office)
        if status < 400 or status >= 500:
            accepted.append((url, status))
    log(f"  webhooks: {len(PRIVATE_TARGETS)} loopback/private/link-local/other-scheme targets, "
        f"{len(PRIVATE_TARGETS) - len(accepted)} refused" + (f"; NOT refused: {accepted}" if accepted else ""))
    rows += [("webhook targets on loopback/private ranges tried", len(PRIVATE_TARGETS)),
             ("of them accepted (or 5xx)", len(accepted), True)]
    # another organization's decision, read by a member of the demo organization
    if foreign_decision:
        member = org.tokens["member1"]
        status, _ = client.get(f"/api/v1/decisions/{foreign_decision}", token=member)
        log(f"  another organization's decision read by a demo member: {status}")
        rows.append(("another organization's decision readable by a member", int(status == 200), True))
    client.close()
    return {"rows": rows}


def run_pytest_selection(env, log=print, quick=False):
    """The normal suite's security and bad-input tests, on the run's broker (own vhosts)."""
    run_env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    run_env.update(AMQP_URI=env.amqp_uri, RABBITMQ_MANAGEMENT_URL=env.broker.management)
    if isinstance(env.broker, PrivateBroker):
        run_env["DATABASE_URL"] = env.postgres.admin_url
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *SELECTION]
    result = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=1800,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", tail)}
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    if result.returncode != 0 and not failed:
        failed = 1
    log(f"  pytest selection: {tail}")
    if failed:
        for line in result.stdout.splitlines():
            if line.startswith(("FAILED", "ERROR")):
                log(f"    {line[:300]}")
    return {"passed": counts.get("passed", 0), "failed": failed, "skipped": counts.get("skipped", 0)}
