"""Accountability (责任追究): responsibility links and lifetime records, C1–C3 (docs/rules.md)."""
import os
# eventlet's green DNS resolver (dnspython) costs about half a second of CPU at every start; the
# suite resolves names only when it connects (broker, database, SMTP), where the platform's
# resolver is as good.  EVENTLET_NO_GREENDNS=no brings it back (docs/performance.md).
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
import eventlet  # noqa: E402
eventlet.monkey_patch()  # noqa: E702  (first: before anything opens a socket)

from services.accountability.service import AccountabilityService  # noqa: E402
from shared.runner import run  # noqa: E402

if __name__ == "__main__":
    run(AccountabilityService)
