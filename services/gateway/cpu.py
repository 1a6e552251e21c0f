"""Password hashing off the event loop, a few at a time.

argon2 takes 64 MiB and a core per hash; run in eventlet's pool of 20 threads, a burst
of log-ins made the gateway grow past a gigabyte (docs/performance.md). Two at a time
keeps memory bounded and both cores busy; others wait their turn cooperatively.
"""
from eventlet import tpool
from eventlet.semaphore import Semaphore

CONCURRENT_HASHES = 2
_slots = Semaphore(CONCURRENT_HASHES)


def run(fn, *args):
    with _slots:
        return tpool.execute(fn, *args)
