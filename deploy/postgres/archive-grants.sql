-- Privileges of the archive's runtime role, applied by the archive's owner role
-- right after every migration (the one-shot archive-grants service in compose):
--
--   psql -v ON_ERROR_STOP=1 -v runtime_role=suite_archive -f archive-grants.sql
--
-- The permanent record (records) and the inbox: SELECT and INSERT only, so a
-- compromised or buggy archive process cannot rewrite or delete history (A1).
-- Two bookkeeping tables need UPDATE because the code moves them forward:
-- chain_heads (the last seq/hash of each organization's chain, locked with
-- SELECT ... FOR UPDATE while appending) and outbox (the relay marks an event
-- published). Nothing gets DELETE or TRUNCATE. A table added by a future
-- migration gets SELECT and INSERT by default (10-create-databases.sh) and
-- anything more only by a line here.
\set ON_ERROR_STOP 1

GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO :"runtime_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"runtime_role";
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM :"runtime_role";
GRANT UPDATE ON TABLE chain_heads, outbox TO :"runtime_role";
-- the service checks at start that its schema is at head: reading the version is enough
REVOKE INSERT ON TABLE alembic_version_archive FROM :"runtime_role";
