"""Every exchange, queue and binding the suite relies on, in one place.

Queues are declared by every service at start (and loaded as RabbitMQ
definitions in deploy/) so that an event published before its consumer first
starts is kept, not dropped.  Queue arguments are immutable once a queue
exists: change them only with a migration plan (docs/operations.md).
"""
from kombu import Exchange, Queue

SERVICES = ("meetings", "voting", "archive", "accountability", "notifications")
DELIVERY_LIMIT = 5                 # redeliveries before a message is dead-lettered
DEAD_LETTER_EXCHANGE = "suite.dead-letter"

# (source service, event type, consuming service, handler method)
SUBSCRIPTIONS = (
    ("voting", "result_decided", "archive", "on_result_decided"),
    ("voting", "result_decided", "accountability", "on_result_decided"),
    ("meetings", "meeting_noticed", "notifications", "on_meeting_noticed"),
    ("voting", "ballot_opened", "notifications", "on_ballot_opened"),
    ("voting", "result_decided", "notifications", "on_result_decided"),
    ("meetings", "meeting_scheduled", "accountability", "on_meeting_scheduled"),
    ("meetings", "meeting_noticed", "accountability", "on_meeting_noticed"),
    ("meetings", "meeting_opened", "accountability", "on_meeting_opened"),
    ("meetings", "topic_accepted", "accountability", "on_topic_accepted"),
    ("voting", "ballot_opened", "accountability", "on_ballot_opened"),
    ("meetings", "meeting_noticed", "archive", "on_meeting_noticed"),
    ("meetings", "objection_raised", "notifications", "on_objection_raised"),
    ("meetings", "meeting_closed", "voting", "on_meeting_closed"),
    ("meetings", "minutes_approved", "voting", "on_minutes_approved"),
    ("voting", "reserved_opinion_recorded", "accountability", "on_reserved_opinion_recorded"),
    ("archive", "checkpoint_signed", "accountability", "on_checkpoint_signed"),   # A2 witness
    # C5: a postponement or non-execution is explained to the group
    ("accountability", "implementation_postponed", "notifications", "on_implementation_postponed"),
    ("accountability", "implementation_not_executable", "notifications", "on_implementation_not_executable"),
    # C5: deadline reminders and overdue notices to the leader and the office; C7: alerts to the
    # discipline inspector, found from who holds the role
    ("accountability", "implementation_due_soon", "notifications", "on_implementation_due_soon"),
    ("accountability", "implementation_overdue", "notifications", "on_implementation_overdue"),
    ("accountability", "compliance_alert_raised", "notifications", "on_compliance_alert_raised"),
    ("meetings", "membership_changed", "notifications", "on_membership_changed"),
    ("meetings", "staff_appointment_changed", "notifications", "on_staff_appointment_changed"),
    # M5: the member who objected hears the chair's answer
    ("meetings", "objection_disposed", "notifications", "on_objection_disposed"),
)

# A1: every fact the archive keeps (services/archive/domain.py ARCHIVED_EVENTS, same order);
# the archive consumes each on its own queue with the handler ``on_<event_type>``
ARCHIVED_EVENTS = (
    ("meetings", "membership_changed"), ("meetings", "topic_submitted"), ("meetings", "topic_accepted"),
    ("meetings", "topic_rejected"), ("meetings", "meeting_noticed"), ("meetings", "meeting_rescheduled"),
    ("meetings", "meeting_cancelled"), ("meetings", "objection_raised"), ("meetings", "leave_requested"),
    ("meetings", "leave_decided"), ("meetings", "meeting_opened"), ("meetings", "meeting_closed"),
    ("meetings", "minutes_recorded"), ("meetings", "minutes_approved"), ("meetings", "document_issued"),
    ("meetings", "provisional_handling_recorded"), ("meetings", "meeting_missing_detected"),
    ("meetings", "democratic_life_missing_detected"),
    ("voting", "result_decided"), ("voting", "ballot_deferred"), ("voting", "reserved_opinion_recorded"),
    ("voting", "decision_superseded"),
    ("accountability", "responsibility_linked"), ("accountability", "implementation_assigned"),
    ("accountability", "implementation_reported"), ("accountability", "implementation_overdue"),
    ("accountability", "implementation_postponed"), ("accountability", "implementation_not_executable"),
    ("accountability", "compliance_alert_raised"), ("accountability", "case_opened"),
    ("accountability", "case_concluded"),
    ("notifications", "notification_failed"),
    ("accountability", "case_proposed"), ("accountability", "alert_acknowledged"),
    ("accountability", "implementation_due_soon"),
    ("meetings", "material_attached"), ("meetings", "democratic_life_step_recorded"),
    ("meetings", "rectification_completed"), ("meetings", "staff_appointment_changed"),
    ("meetings", "objection_disposed"), ("meetings", "topic_preparation_recorded"),
)
_EARLIER = {("voting", "result_decided"), ("meetings", "meeting_noticed")}    # listed above since 0001
SUBSCRIPTIONS += tuple((source, event_type, "archive", f"on_{event_type}")
                       for source, event_type in ARCHIVED_EVENTS if (source, event_type) not in _EARLIER)


def exchange_name(service):
    return f"{service}.events"


def event_exchange(service):
    # the same declaration nameko uses (topic, durable), so both agree
    return Exchange(exchange_name(service), type="topic", durable=True, auto_delete=False, delivery_mode=2)


def queue_name(source, event_type, service, method):
    # nameko's SERVICE_POOL naming: evt-<source>-<event>--<service>.<method>
    return f"evt-{source}-{event_type}--{service}.{method}"


def dead_letter_queue_name(queue):
    return f"{queue}.dlq"


def dead_letter_exchange():
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True, auto_delete=False)


def queue_arguments(queue):
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": queue,
    }


def handler_queue(source, event_type, service, method):
    name = queue_name(source, event_type, service, method)
    return Queue(name, exchange=event_exchange(source), routing_key=event_type,
                 durable=True, auto_delete=False, exclusive=False,
                 queue_arguments=queue_arguments(name))


def dead_letter_queue(queue):
    dlq = dead_letter_queue_name(queue)
    return Queue(dlq, exchange=dead_letter_exchange(), routing_key=queue, durable=True,
                 auto_delete=False, queue_arguments={"x-queue-type": "quorum"})


def declare_handler_queue(channel, source, event_type, service, method):
    queue = handler_queue(source, event_type, service, method)
    dead_letter_queue(queue.name)(channel).declare()
    queue(channel).declare()
    return queue


def declare_all(connection):
    """Declare every exchange, handler queue and dead-letter queue (idempotent)."""
    channel = connection.channel()
    try:
        for service in SERVICES:
            event_exchange(service)(channel).declare()
        dead_letter_exchange()(channel).declare()
        for source, event_type, service, method in SUBSCRIPTIONS:
            declare_handler_queue(channel, source, event_type, service, method)
    finally:
        channel.close()


def definitions(vhost="/"):
    """RabbitMQ definitions (management import format) for deploy/."""
    exchanges = [
        {"name": exchange_name(s), "vhost": vhost, "type": "topic", "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}} for s in SERVICES
    ] + [{"name": DEAD_LETTER_EXCHANGE, "vhost": vhost, "type": "direct", "durable": True,
          "auto_delete": False, "internal": False, "arguments": {}}]
    queues, bindings = [], []
    for source, event_type, service, method in SUBSCRIPTIONS:
        name = queue_name(source, event_type, service, method)
        dlq = dead_letter_queue_name(name)
        queues.append({"name": name, "vhost": vhost, "durable": True, "auto_delete": False,
                       "arguments": queue_arguments(name)})
        queues.append({"name": dlq, "vhost": vhost, "durable": True, "auto_delete": False,
                       "arguments": {"x-queue-type": "quorum"}})
        bindings.append({"source": exchange_name(source), "vhost": vhost, "destination": name,
                         "destination_type": "queue", "routing_key": event_type, "arguments": {}})
        bindings.append({"source": DEAD_LETTER_EXCHANGE, "vhost": vhost, "destination": dlq,
                         "destination_type": "queue", "routing_key": name, "arguments": {}})
    return {"vhosts": [{"name": vhost}], "exchanges": exchanges, "queues": queues, "bindings": bindings,
            "policies": [rpc_queue_policy(vhost)]}


RPC_QUEUE_POLICY = "rpc-queues-on-every-node"


def rpc_queue_policy(vhost="/"):
    """nameko's RPC request queues (``rpc-<service>``) are durable classic queues declared by the
    services, not quorum queues: on a cluster, a durable classic queue whose node is down cannot be
    declared again on another node, so RPC to that service would stop until the node came back.
    Mirrored on every node (synchronised at once), the queue survives the loss of its node and
    the services' reconnection finds it.  Reply queues (``rpc.reply-…``) are exclusive to their
    connection and are declared again on the node a service reconnects to; the pattern leaves them
    alone, as it does the event queues (quorum already).  Harmless on a single node."""
    return {"name": RPC_QUEUE_POLICY, "vhost": vhost, "pattern": "^rpc-", "apply-to": "queues",
            "priority": 0, "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"}}


if __name__ == "__main__":   # python -m shared.topology > deploy/rabbitmq/definitions.json
    import json
    import sys
    json.dump(definitions(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
