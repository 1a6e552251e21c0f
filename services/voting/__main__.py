import eventlet
eventlet.monkey_patch()  # noqa: E702  (first: before anything opens a socket)

from services.voting.service import VotingService  # noqa: E402
from shared.runner import run  # noqa: E402

if __name__ == "__main__":
    run(VotingService)
