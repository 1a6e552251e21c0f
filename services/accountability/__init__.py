"""Accountability (责任追究): who bears responsibility for each decision (C1–C7, docs/rules.md)."""
