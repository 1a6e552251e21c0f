"""Notifications (通知): notices to each recipient, once per channel (N1–N2, docs/rules.md)."""
