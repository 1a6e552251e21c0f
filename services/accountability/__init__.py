"""Accountability (责任追究): who bears responsibility for each decision (SPEC C1–C7)."""
