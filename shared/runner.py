"""Run one service as its own process: ``python -m services.<name>``.

Checks the broker first (and exits with a message saying how to get one),
declares the suite's queues before anything is published, then runs the
nameko container until SIGTERM/SIGINT.
"""
import logging
import os
import signal
import sys

import eventlet
from kombu import Connection

from shared.amqp import check_broker
from shared.config import WeakSecret, load_config
from shared.topology import declare_all

BROKER_HELP = (
    "Cannot reach RabbitMQ at {uri} ({error}).\n"
    "Start one (e.g. 'rabbitmq-server -detached', or "
    "'docker run -d -p 5672:5672 rabbitmq:3-management') or point AMQP_URI at yours."
)


def configure_logging(config):
    level = str(config.get("LOG_LEVEL", os.environ.get("LOG_LEVEL", "INFO"))).upper()
    logging.basicConfig(level=level, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s " + config["SERVICE_NAME"] + " %(name)s: %(message)s")
    logging.getLogger("kombu").setLevel(logging.WARNING)
    logging.getLogger("amqp").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run(service_cls, config=None):
    from nameko.runners import ServiceRunner

    try:
        config = config or load_config(service_cls.name)
    except WeakSecret as exc:         # issue 17: a clear message, no traceback
        print(exc, file=sys.stderr)
        sys.exit(2)
    configure_logging(config)
    log = logging.getLogger("shared.runner")
    uri = config["AMQP_URI"]
    try:
        check_broker(uri)
    except ConnectionError as exc:
        from kombu.utils.url import maybe_sanitize_url
        print(BROKER_HELP.format(uri=maybe_sanitize_url(uri), error=exc), file=sys.stderr)
        sys.exit(2)
    with Connection(uri) as conn:
        declare_all(conn)

    runner = ServiceRunner(config)
    runner.add_service(service_cls)

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    runner.start()
    log.info("%s ready", service_cls.name)
    runnlet = eventlet.spawn(runner.wait)
    try:
        runnlet.wait()
    except KeyboardInterrupt:  # pragma: no cover
        runner.stop()


def check_only():
    """``python -m shared.runner``: exit 2 with help when the broker is unreachable."""
    uri = os.environ.get("AMQP_URI") or load_config("meetings", env={})["AMQP_URI"]
    try:
        check_broker(uri)
    except ConnectionError as exc:
        from kombu.utils.url import maybe_sanitize_url
        print(BROKER_HELP.format(uri=maybe_sanitize_url(uri), error=exc), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    check_only()
