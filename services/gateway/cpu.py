"""Password hashing off the event loop, one at a time.

Each argon2 hash holds its memory cost (19 MiB, ``auth.PASSWORD_MEMORY_KIB``) while it
runs; in eventlet's pool of 20 threads a burst of log-ins made the gateway grow past a
gigabyte with the former 64 MiB (docs/performance.md).  One hash at a time keeps the
gateway under its memory target (about 100 MB + 19 MiB) and leaves the other core to the
services; other log-ins wait their turn cooperatively.

The C library must also give each hash's memory back when it is done: glibc raises its
mmap threshold to the size of any mmapped block that is freed (up to 32 MiB), so after the
first 19 MiB hash the next ones came from the pool threads' own arenas and stayed resident,
one per thread (388 MB measured after a burst of log-ins).  The threshold is pinned at
1 MiB, which keeps every hash's block mmapped and returned when freed.
"""
import ctypes

from eventlet import tpool
from eventlet.semaphore import Semaphore

CONCURRENT_HASHES = 1
_slots = Semaphore(CONCURRENT_HASHES)

M_MMAP_THRESHOLD = -3          # glibc's mallopt() parameter
MMAP_THRESHOLD_BYTES = 1 << 20


def pin_mmap_threshold():
    """True when the C library accepted the fixed threshold (glibc); False elsewhere."""
    try:
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


pin_mmap_threshold()


def run(fn, *args):
    with _slots:
        return tpool.execute(fn, *args)
