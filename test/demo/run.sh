#!/usr/bin/env bash
# test/demo/run.sh — the trade-fair demo. test/run starts a throwaway cluster and calls
# this with PGHOST/PGPORT/PGUSER set; it also runs against any cluster where leadqual is
# installed (LEADQUAL_DEMO_DB names the database it creates, default leadqual_demo).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db=${LEADQUAL_DEMO_DB:-leadqual_demo}

psql -X -q -v ON_ERROR_STOP=1 -d postgres -v db="$db" <<'SQL'
CREATE DATABASE :"db";
SQL
# demo.sql reads contacts.csv with \copy, relative to the working directory
cd "$here"
psql -X -v ON_ERROR_STOP=1 -d "$db" -f demo.sql
