"""The Party Group's own arithmetic and roles, written once for every service.

- §二: the group roles (secretary, deputy secretary, member); every other role is staff.
- M8 §三(五): a meeting is held with at least two thirds of the N group members present.
- V3 §三(六): a matter passes with MORE than half of N voting yes (N = the members who should
  attend, not those present or voting).
"""
from shared.actor import GROUP_ROLES, STAFF_ROLES

__all__ = ["GROUP_ROLES", "STAFF_ROLES", "quorum_required", "threshold", "outcome"]


def quorum_required(n):
    """M8: at least two thirds of the N group members: ceil(2N/3)."""
    if n < 0:
        raise ValueError("N cannot be negative")
    return (2 * n + 2) // 3


def threshold(n):
    """V3: the least number of yes votes that is MORE than half of N: N // 2 + 1."""
    if n < 0:
        raise ValueError("N cannot be negative")
    return n // 2 + 1


def outcome(yes, n):
    """V3: passed ⇔ 2·yes > N, N = group members who should attend (not present, not votes cast)."""
    if yes < 0 or n < 0:
        raise ValueError("counts cannot be negative")
    return "passed" if 2 * yes > n else "failed"
