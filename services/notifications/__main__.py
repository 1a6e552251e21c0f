"""Notifications (通知): in-app inbox, N1–N2 (SPEC §3)."""
import eventlet
eventlet.monkey_patch()  # noqa: E702  (first: before anything opens a socket)

from services.notifications.service import NotificationsService  # noqa: E402
from shared.runner import run  # noqa: E402

if __name__ == "__main__":
    run(NotificationsService)
