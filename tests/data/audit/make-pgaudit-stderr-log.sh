#!/usr/bin/env bash
# Write pg15-stderr-pgaudit.log in this folder: a real PostgreSQL server log
# (log_destination = 'stderr') with pgAudit records, for the pgaudit collector's
# tests. It needs PostgreSQL 15 and pgAudit (Debian: postgresql-15
# postgresql-15-pgaudit) and runs as root, because the server runs as the
# `postgres` user through runuser. The server listens on 127.0.0.1 only and is
# stopped at the end. The log of one run was kept as written, so running the
# script again changes times, process ids and ports.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin=/usr/lib/postgresql/15/bin
out="$here/pg15-stderr-pgaudit.log"
port=55432

if [ ! -f /usr/lib/postgresql/15/lib/pgaudit.so ]; then
    echo "pgaudit.so not found; install postgresql-15-pgaudit" >&2
    exit 1
fi

base="$(mktemp -d /tmp/pgaudit-log-XXXXXX)"
chown postgres:postgres "$base"
as_postgres() { runuser -u postgres -- "$@"; }
stop() { as_postgres "$bin/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$base"; }
trap stop EXIT

as_postgres "$bin/initdb" -D "$base/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
cat >>"$base/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base'
fsync = off
shared_preload_libraries = 'pgaudit'
pgaudit.log = 'all'
pgaudit.log_parameter = on
pgaudit.log_rows = on
pgaudit.role = 'auditor'
log_destination = 'stderr'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = on
log_disconnections = on
log_timezone = 'UTC'
lc_messages = 'C'
CONF
as_postgres "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w start >/dev/null

psql_local() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$base" -p "$port" -U postgres "$@"; }
psql_tcp() { as_postgres env PGPASSWORD="$2" psql -X -q -h 127.0.0.1 -p "$port" -U "$1" -d auditdb "${@:3}"; }

psql_local -d postgres -c 'CREATE DATABASE auditdb'
psql_local -d auditdb <<'SQL'
CREATE EXTENSION pgaudit;
CREATE ROLE auditor NOLOGIN;
CREATE SCHEMA crm;
CREATE TABLE crm.customer (
    id serial PRIMARY KEY,
    tenant text NOT NULL,
    display_name text NOT NULL
);
CREATE TABLE crm.ticket (id serial PRIMARY KEY, customer_id int REFERENCES crm.customer(id), subject text);
CREATE FUNCTION crm.ticket_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM crm.ticket';
CREATE ROLE svc_api LOGIN PASSWORD 'api-secret-1';
CREATE ROLE svc_reporting LOGIN PASSWORD 'reporting-secret-1';
GRANT USAGE ON SCHEMA crm TO svc_api, svc_reporting;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA crm TO svc_api;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crm TO svc_api;
GRANT SELECT ON crm.ticket TO svc_reporting;
GRANT SELECT, UPDATE ON crm.customer TO auditor;
INSERT INTO crm.customer (tenant, display_name)
VALUES
	('tenant-a', 'Kunde <&> "Müller"'),
	('tenant-b', 'Ünïcødé, Ltd.');
ALTER ROLE svc_api PASSWORD 'api-secret-2';
ALTER ROLE svc_reporting VALID UNTIL 'infinity';
CREATE ROLE "Prüfer <&> Team" NOLOGIN;
GRANT SELECT
	ON crm.ticket
	TO "Prüfer <&> Team";
CREATE ROLE break_glass
    LOGIN
    PASSWORD 'break-glass-secret';
DROP ROLE break_glass;
SET search_path = crm, public;
SET ROLE auditor;
SQL
psql_tcp svc_api api-secret-2 <<'SQL'
INSERT INTO crm.ticket (customer_id, subject) VALUES (1, 'invoice <&> ünïcødé');
SELECT t.id, c.display_name
  FROM crm.ticket t
  JOIN crm.customer c ON c.id = t.customer_id
 WHERE c.tenant = 'tenant-a';
UPDATE crm.customer SET display_name = 'Kunde, "Müller" & Söhne' WHERE id = 1;
SELECT crm.ticket_count();
SQL
psql_tcp svc_reporting reporting-secret-1 <<'SQL' || true
SELECT count(*) FROM crm.ticket;
SELECT * FROM crm.customer;
SQL
psql_tcp svc_api wrong-password -c 'SELECT 1' || true
psql_tcp ghost_user whatever -c 'SELECT 1' || true
psql_local -d auditdb <<'SQL'
REVOKE UPDATE ON crm.customer FROM svc_api;
REVOKE ALL ON crm.ticket FROM svc_reporting;
REVOKE USAGE ON SCHEMA crm FROM svc_reporting;
DROP ROLE svc_reporting;
SQL

as_postgres "$bin/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null
cp "$base/server.log" "$out"
chmod 0644 "$out"
echo "wrote $out"
