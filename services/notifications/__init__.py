"""Notifications (通知): notices to each recipient, once per channel (SPEC N1–N2)."""
