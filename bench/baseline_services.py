"""The framework's own ceiling: two bare nameko services, nothing of the suite.

- ``echo``: one RPC method that returns its argument;
- ``bare_http``: one ``@http`` route, ``GET /echo``, that calls ``echo.echo`` by RPC
  and answers a small JSON body.

Each runs as its own process, like the suite's services:

    python -m bench.baseline_services echo       # AMQP_URI from the environment
    python -m bench.baseline_services http       # also WEB_SERVER_ADDRESS (host:port)

and logs "<name> ready" once started.  No database, no validation, no auth: what
is left is nameko's HTTP entrypoint, one RPC round trip over RabbitMQ and eventlet.
"""
import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.rpc import RpcProxy, rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.web.handlers import http  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402


class EchoService:
    name = "echo"

    @rpc
    def echo(self, value):
        return value

    @rpc
    def health(self):
        return {"service": self.name, "status": "ok"}


class BareHttpService:
    name = "bare_http"

    echo = RpcProxy("echo")

    @http("GET", "/echo")
    def echo_route(self, request):
        answer = self.echo.echo({"ok": True})
        return Response(json.dumps(answer), content_type="application/json")

    @rpc
    def health(self):
        return {"service": self.name, "status": "ok"}


SERVICES = {"echo": EchoService, "http": BareHttpService}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SERVICES:
        sys.exit("usage: python -m bench.baseline_services echo|http")
    cls = SERVICES[argv[0]]
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kombu").setLevel(logging.WARNING)
    config = {"AMQP_URI": os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
              "WEB_SERVER_ADDRESS": os.environ.get("WEB_SERVER_ADDRESS", "127.0.0.1:8001"),
              "max_workers": int(os.environ.get("MAX_WORKERS", "10"))}
    runner = ServiceRunner(config)
    runner.add_service(cls)

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    logging.getLogger("bench").info("%s ready", cls.name)
    runner.wait()


if __name__ == "__main__":
    main()
