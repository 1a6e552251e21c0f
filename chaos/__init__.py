"""`make chaos`: fault injection against the whole suite, with figures (docs/reliability.md)."""
