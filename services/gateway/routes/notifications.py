"""Routes of the notifications service (N1–N2)."""
from services.gateway import schemas
from services.gateway.access import CHAIRS, require_meeting
from services.gateway.http import route

RECEIPT_READERS = CHAIRS + ("office", "admin")
INTEGRATION_ADMINS = ("office", "admin")


class NotificationsRoutes:

    @route("GET", "/api/v1/notifications", query=schemas.NotificationsQuery, summary="the caller's inbox",
           tag="notifications")
    def inbox(self, actor, query):
        return self.notifications.inbox(actor.to_dict(), query["unread_only"], query["limit"], query["offset"],
                                        query["cursor"])

    @route("POST", "/api/v1/notifications/<notification_id>/read", summary="mark a notification read",
           tag="notifications")
    def mark_read(self, actor, notification_id):
        return self.notifications.mark_read(actor.to_dict(), notification_id)

    @route("POST", "/api/v1/notifications/<notification_id>/acknowledge", rule="M5",
           summary="acknowledge receipt of a meeting notice (proof of notice, M5)", tag="notifications")
    def acknowledge(self, actor, notification_id):
        return self.notifications.acknowledge(actor.to_dict(), notification_id)

    @route("GET", "/api/v1/meetings/<meeting_id>/receipts", roles=RECEIPT_READERS, rule="M5",
           summary="who was notified of a meeting, read and acknowledged it (M5)", tag="notifications")
    def notice_receipts(self, actor, meeting_id):
        require_meeting(self.meetings, actor, meeting_id, admin_reads=True)     # another organization's: 404
        return self.notifications.notice_receipts(actor.to_dict(), meeting_id)

    @route("PUT", "/api/v1/persons/<person_id>/contact", body=schemas.ContactIn, rule="N2",
           summary="a person's e-mail address (the person or an administrator)", tag="notifications")
    def set_contact(self, actor, person_id, body):
        return self.notifications.set_contact(actor.to_dict(), person_id, body)

    @route("GET", "/api/v1/me/preferences", summary="the caller's channels and language", tag="notifications")
    def get_preferences(self, actor):
        return self.notifications.get_preferences(actor.to_dict())

    @route("PUT", "/api/v1/me/preferences", body=schemas.PreferencesIn, rule="N2",
           summary="choose channels (e-mail, inbox) and language", tag="notifications")
    def set_preferences(self, actor, body):
        return self.notifications.set_preferences(actor.to_dict(), body)

    @route("POST", "/api/v1/webhooks", roles=INTEGRATION_ADMINS, rule="N2", body=schemas.WebhookIn, status=201,
           summary="register an integrator's webhook (the secret is shown once)", tag="notifications")
    def register_webhook(self, actor, body):
        return self.notifications.register_webhook(actor.to_dict(), body)

    @route("GET", "/api/v1/webhooks", roles=INTEGRATION_ADMINS, rule="N2", query=schemas.OrgQuery,
           summary="the organization's webhooks", tag="notifications")
    def list_webhooks(self, actor, query):
        return self.notifications.list_webhooks(actor.to_dict(), query["org_id"])

    @route("DELETE", "/api/v1/webhooks/<webhook_id>", roles=INTEGRATION_ADMINS, rule="N2",
           summary="stop sending to a webhook (its log is kept)", tag="notifications")
    def remove_webhook(self, actor, webhook_id):
        return self.notifications.remove_webhook(actor.to_dict(), webhook_id)

    @route("GET", "/api/v1/deliveries", roles=INTEGRATION_ADMINS, rule="N2", query=schemas.DeliveriesQuery,
           summary="the delivery log: every notice, e-mail and webhook with its attempts", tag="notifications")
    def deliveries(self, actor, query):
        filters = {k: query[k] for k in ("org_id", "channel", "status", "webhook_id", "source_event_id")}
        return self.notifications.deliveries(actor.to_dict(), filters, query["limit"], query["offset"],
                                             query["cursor"])
