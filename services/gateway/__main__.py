"""Gateway (HTTP over RPC): ``python -m services.gateway``."""
import eventlet
eventlet.monkey_patch()  # noqa: E702  (first: before anything opens a socket)

from services.gateway.service import GatewayService  # noqa: E402
from shared.runner import run  # noqa: E402

if __name__ == "__main__":
    run(GatewayService)
