"""Archive (归档): append-only records in a per-organization hash chain, A1–A3 (docs/rules.md)."""
