"""Accountability (责任追究): responsibility links and lifetime records, C1–C3 (SPEC §3)."""
import eventlet
eventlet.monkey_patch()  # noqa: E702  (first: before anything opens a socket)

from services.accountability.service import AccountabilityService  # noqa: E402
from shared.runner import run  # noqa: E402

if __name__ == "__main__":
    run(AccountabilityService)
