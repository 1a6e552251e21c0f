"""Run the suite's services.

``python -m services.<name>`` runs one service through :func:`run`: it checks the
broker first (and exits with a message saying how to get one), declares the suite's
queues before anything is published, then runs the nameko container until
SIGTERM/SIGINT.

The command line (``python -m shared.runner <command>``):

* ``check`` (the default): exit 2 with help when the broker is unreachable.
* ``serve``: run the service the image was built for (``SUITE_SERVICE``); the
  images' CMD (deploy/Dockerfile).
* ``health``: the images' HEALTHCHECK. The gateway answers GET /health on its own
  port; every other service answers its ``health`` RPC over the broker.
"""
import logging
import os
import signal
import sys

SERVICES = ("meetings", "voting", "archive", "accountability", "notifications", "gateway")

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


def _check_broker_or_exit(uri):
    from kombu.utils.url import maybe_sanitize_url

    from shared.amqp import check_broker
    try:
        check_broker(uri)
    except ConnectionError as exc:
        print(BROKER_HELP.format(uri=maybe_sanitize_url(uri), error=exc), file=sys.stderr)
        sys.exit(2)


def run(service_cls, config=None):
    import eventlet
    from kombu import Connection
    from nameko.runners import ServiceRunner

    from shared.config import load_config
    from shared.topology import declare_all

    config = config or load_config(service_cls.name)
    configure_logging(config)
    log = logging.getLogger("shared.runner")
    _check_broker_or_exit(config["AMQP_URI"])
    with Connection(config["AMQP_URI"]) as conn:
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
    """Exit 2 with help when the broker is unreachable."""
    from shared.config import load_config
    _check_broker_or_exit(os.environ.get("AMQP_URI") or load_config("meetings", env={})["AMQP_URI"])


# --------------------------------------------------------------------------- images

def image_service(env=None):
    """The service an image runs: SUITE_SERVICE (set from the build argument SERVICE)."""
    name = (env if env is not None else os.environ).get("SUITE_SERVICE", "")
    if name not in SERVICES:
        print(f"SUITE_SERVICE must name one of {', '.join(SERVICES)} (got {name!r})", file=sys.stderr)
        sys.exit(64)
    return name


def serve():
    """Replace this process with ``python -m services.<SUITE_SERVICE>`` (the service's own
    entry module patches eventlet before anything else is imported)."""
    name = image_service()
    os.execv(sys.executable, [sys.executable, "-m", f"services.{name}"])


def health(timeout=8):
    """Exit 0 when the image's service answers as healthy within ``timeout`` seconds, else 1."""
    name = image_service()
    if name == "gateway":
        import urllib.request
        port = os.environ.get("GATEWAY_PORT", "8000")
        try:
            response = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout)
        except OSError as exc:
            print(f"gateway: GET /health failed: {exc}", file=sys.stderr)
            return 1
        return 0 if response.status == 200 else 1
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.config import load_config
    proxy = ClusterRpcProxy({"AMQP_URI": load_config(name)["AMQP_URI"]}, timeout=timeout)
    try:
        services = proxy.start()
        answer = getattr(services, name).health()
    except Exception as exc:  # any failure is "unhealthy", named for docker inspect
        print(f"{name}: health RPC failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        proxy.stop()
    return 0 if answer.get("status") == "ok" else 1


def main(argv):
    command = argv[0] if argv else "check"
    if command == "check":
        check_only()
    elif command == "serve":
        serve()
    elif command == "health":
        sys.exit(health())
    else:
        print("usage: python -m shared.runner [check | serve | health]", file=sys.stderr)
        sys.exit(64)


if __name__ == "__main__":
    main(sys.argv[1:])
