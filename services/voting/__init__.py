"""Voting (表决): ballots, votes and decisions, V1–V9 (docs/rules.md)."""
