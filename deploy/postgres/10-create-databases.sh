#!/bin/bash
# One database and one login role per service (each service owns its own data).
#
# Run by the postgres image from /docker-entrypoint-initdb.d on the first start
# of an empty data volume; safe to run again (it only creates what is missing),
# e.g. `docker compose exec postgres bash /docker-entrypoint-initdb.d/10-create-databases.sh`
# after a service is added.
#
#   <prefix><service>        the service's role, owner of database <prefix><service>;
#                            it runs the service's migrations at start
#   <prefix>archive_owner    owner of <prefix>archive: runs the archive's migrations
#                            (the one-shot archive-migrate service)
#   <prefix>archive          the archive's runtime role: SELECT and INSERT only on the
#                            permanent records (see archive-grants.sql)
#
# Passwords come from the environment (<SERVICE>_DB_PASSWORD, ARCHIVE_OWNER_DB_PASSWORD)
# and reach SQL only as psql variables, quoted by psql. SUITE_DB_PREFIX (default
# "suite_") lets several suites share one server.
set -euo pipefail

prefix="${SUITE_DB_PREFIX:-suite_}"

psql_as_admin() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
       --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" "$@"
}

password_of() {
  local var="$1"
  if [ -z "${!var:-}" ]; then
    echo "10-create-databases.sh: $var is not set; every database role needs a password" >&2
    exit 1
  fi
  printf '%s' "${!var}"
}

create_role() {   # role password
  psql_as_admin -v role="$1" -v pw="$2" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE', :'role', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
}

create_database() {   # database owner
  psql_as_admin -v db="$1" -v owner="$2" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'owner', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
}

for service in meetings voting accountability notifications gateway; do
  var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  create_role "${prefix}${service}" "$(password_of "$var")"
  create_database "${prefix}${service}" "${prefix}${service}"
done

# The archive: the owner migrates, the runtime role only reads and appends.
create_role "${prefix}archive_owner" "$(password_of ARCHIVE_OWNER_DB_PASSWORD)"
create_role "${prefix}archive" "$(password_of ARCHIVE_DB_PASSWORD)"
create_database "${prefix}archive" "${prefix}archive_owner"
psql_as_admin --dbname "${prefix}archive" -v owner="${prefix}archive_owner" -v app="${prefix}archive" <<'SQL'
GRANT CONNECT ON DATABASE :"DBNAME" TO :"app";
GRANT USAGE ON SCHEMA public TO :"app";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- every table the owner's migrations create: SELECT and INSERT for the runtime role
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app";
SQL

echo "10-create-databases.sh: databases and roles ready (prefix ${prefix})"
