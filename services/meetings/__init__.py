"""Meetings (会议): the roster and every meeting rule, M1–M11 (docs/rules.md)."""
