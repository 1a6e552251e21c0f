"""Stage 4: every event of the run, captured on the tap queue, delivered twice more
straight to each consumer's handler queue (as a redelivery would); the consumers'
state must not change.

State = every table of the consuming services' databases (archive, accountability,
notifications), row count and a digest of the content.  Tables that change by
themselves while nothing is delivered (timers: delivery attempts, sweeps) are compared
by row count only, and named in the report.
"""
import time

import sqlalchemy as sa
from kombu import Connection

from shared.topology import SUBSCRIPTIONS, queue_name

CONSUMERS = ("archive", "accountability", "notifications")


def drain_tap(env):
    """Every message on the tap queue so far (removed from it, kept in ``env.captured``)."""
    from chaos.env import TAP_QUEUE
    got = []
    with Connection(env.amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(TAP_QUEUE, no_ack=False)) is not None:
            got.append({"exchange": message.delivery_info["exchange"],
                        "routing_key": message.delivery_info["routing_key"],
                        "body": message.body, "content_type": message.content_type,
                        "content_encoding": message.content_encoding,
                        "headers": dict(message.headers or {}),
                        "message_id": message.properties.get("message_id")})
            channel.basic_ack(message.delivery_tag)
    env.captured = getattr(env, "captured", []) + got
    return got


def snapshot(env):
    state = {}
    for service in CONSUMERS:
        engine = env.engine(service)
        with engine.connect() as conn:
            for table in sa.inspect(engine).get_table_names():
                count, digest = conn.execute(sa.text(
                    f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '
                    f'FROM "{table}" t')).one()
                state[(service, table)] = (count, digest)
    return state


def run(env, log=print):
    env.wait_quiet()
    drain_tap(env)
    events = [e for e in env.captured if e["exchange"].endswith(".events")]
    before = snapshot(env)
    time.sleep(3)
    idle = snapshot(env)
    volatile = {k for k in before if before[k] != idle.get(k)}
    routes = {}
    for source, event_type, service, method in SUBSCRIPTIONS:
        routes.setdefault((f"{source}.events", event_type), []).append(
            queue_name(source, event_type, service, method))
    published = 0
    t0 = time.monotonic()
    with Connection(env.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for _ in range(2):
            for e in events:
                for queue in routes.get((e["exchange"], e["routing_key"]), []):
                    producer.publish(e["body"], exchange="", routing_key=queue, content_type=e["content_type"],
                                     content_encoding=e["content_encoding"], headers=e["headers"],
                                     message_id=e["message_id"], delivery_mode=2)
                    published += 1
    log(f"  {len(events)} captured events: {published} messages published straight to the handler queues "
        f"in {time.monotonic() - t0:.0f} s")
    env.wait_quiet(timeout=900)
    after = snapshot(env)
    changed = {}
    for key, (count, digest) in after.items():
        old_count, old_digest = idle.get(key, (0, ""))
        if count != old_count or (key not in volatile and digest != old_digest):
            changed[key] = (old_count, count)
    if volatile:
        log(f"  tables that change while idle (compared by row count): {sorted('.'.join(k) for k in volatile)}")
    log(f"  tables changed by the redelivery: {changed or 'none'}")
    return {"events": len(events), "published": published,
            "changed": sum(max(1, abs(b - a)) for a, b in changed.values()), "changed_tables": changed,
            "volatile": sorted(volatile)}
