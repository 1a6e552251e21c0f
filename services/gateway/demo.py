"""Demo data: an organization with a full party group and one account per role.

Runs only when the config says ``DEMO_SEED: "1"`` and the gateway has no account
yet.  Every demo account's password is ``demo-password-2026``.

| username      | person_id           | role in ``demo-org``   |
|---------------|---------------------|------------------------|
| secretary     | demo-secretary      | secretary              |
| deputy        | demo-deputy         | deputy_secretary       |
| member1…7     | demo-member1…7      | member                 |
| office        | demo-office         | office                 |
| hr            | demo-hr             | hr                     |
| confidential  | demo-confidential   | confidential_secretary |
| discipline    | demo-discipline     | discipline             |
| admin         | demo-admin          | (none; administrator)  |
"""
import logging
import time

import eventlet
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway import accounts, auth, cpu, models
from shared.actor import Actor
from shared.errors import DomainError, ValidationFailed

log = logging.getLogger(__name__)

DEMO_ORG_ID = "demo-org"
DEMO_ORG_NAME = "示范局党组"
DEMO_TIMEZONE = "Asia/Shanghai"
DEMO_PASSWORD = "demo-password-2026"
START_DATE = "2020-01-01"
CN_DIGITS = "一二三四五六七"

# (username, person_id, name, role, division of work)
DEMO_PEOPLE = (
    [("secretary", "demo-secretary", "张书记", "secretary", "主持党组全面工作"),
     ("deputy", "demo-deputy", "李副书记", "deputy_secretary", "机关党建、干部人事")]
    + [(f"member{i}", f"demo-member{i}", f"党组成员{CN_DIGITS[i - 1]}", "member", None) for i in range(1, 8)]
    + [("office", "demo-office", "王主任", "office", None),
       ("hr", "demo-hr", "赵处长", "hr", None),
       ("confidential", "demo-confidential", "陈秘书", "confidential_secretary", None),
       ("discipline", "demo-discipline", "刘组长", "discipline", None)]
)
DEMO_ADMIN = ("admin", "demo-admin")


def seed(store, meetings, hash_password=auth.hash_password):
    """Create the demo organization (through the meetings service) and the demo accounts.

    ``meetings`` is an RPC proxy of the meetings service. Safe to run again: what
    exists is kept.
    """
    system = Actor.system().to_dict()
    try:
        meetings.create_organization(system, {"name": DEMO_ORG_NAME, "timezone": DEMO_TIMEZONE,
                                              "org_id": DEMO_ORG_ID})
        new_org = True
    except ValidationFailed as exc:
        if exc.field != "org_id":
            raise
        new_org = False       # made by an earlier run: keep its roster
    for _username, person_id, name, role, division in DEMO_PEOPLE:
        try:
            meetings.register_person(system, {"name": name, "person_id": person_id})
        except ValidationFailed as exc:
            if exc.field != "person_id":
                raise
        if new_org:
            meetings.appoint(system, {"org_id": DEMO_ORG_ID, "person_id": person_id, "role": role,
                                      "start_date": START_DATE, "division_of_work": division})
    created = 0
    rows = [(u, pid, DEMO_ORG_ID, False) for u, pid, *_ in DEMO_PEOPLE] + [DEMO_ADMIN + (None, True)]
    for username, person_id, org_id, is_admin in rows:
        if accounts.find_by_username(store, username) is not None:
            continue
        # the seed is not an administrator's action: its accounts carry the demo people's roles
        accounts.create_account(store, username, hash_password(DEMO_PASSWORD), person_id,
                                org_id=org_id, is_admin=is_admin, bound_by=models.BOUND_BY_SEED, actor="demo seed")
        created += 1
    return created


class DemoSeed(DependencyProvider):
    """After start, when ``DEMO_SEED`` is "1" and there is no account, seed the demo data
    (waiting up to ``wait_seconds`` for the meetings service to answer)."""

    def __init__(self, database, wait_seconds=60):
        self.database = database          # the service's Database provider (class attribute)
        self.wait_seconds = wait_seconds

    def start(self):
        if str(self.container.config.get("DEMO_SEED", "")).strip() != "1":
            return
        self.container.spawn_managed_thread(self._run, identifier="demo-seed")

    def _store(self):
        for dep in self.container.dependencies:
            if dep.attr_name == self.database:
                return dep.store
        raise LookupError(f"no dependency named {self.database}")

    def _run(self):
        store = self._store()
        if accounts.count_accounts(store) > 0:
            return
        deadline = time.monotonic() + self.wait_seconds
        config = {"AMQP_URI": self.container.config["AMQP_URI"]}
        while True:
            try:
                with ClusterRpcProxy(config, timeout=10) as rpc:
                    rpc.meetings.health()
                    created = seed(store, rpc.meetings,
                                   hash_password=lambda pw: cpu.run(auth.hash_password, pw))
                log.info("demo seed: organization %s and %d accounts created", DEMO_ORG_ID, created)
                return
            except DomainError as exc:
                log.error("demo seed refused: %s", exc)
                return
            except Exception as exc:    # meetings not up yet (unknown service, timeout, broker)
                if time.monotonic() > deadline:
                    log.error("demo seed gave up: the meetings service did not answer (%r)", exc)
                    return
                log.info("demo seed waiting for the meetings service (%s)", type(exc).__name__)
                eventlet.sleep(1.0)

    def get_dependency(self, worker_ctx):
        return None

