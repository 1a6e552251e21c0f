"""Routes of the notifications service (N1–N2)."""
from services.gateway import schemas
from services.gateway.http import route


class NotificationsRoutes:

    @route("GET", "/api/v1/notifications", query=schemas.NotificationsQuery, summary="the caller's inbox",
           tag="notifications")
    def inbox(self, actor, query):
        return self.notifications.inbox(actor.to_dict(), query["unread_only"], query["limit"], query["offset"])

    @route("POST", "/api/v1/notifications/<notification_id>/read", summary="mark a notification read",
           tag="notifications")
    def mark_read(self, actor, notification_id):
        return self.notifications.mark_read(actor.to_dict(), notification_id)
