#!/usr/bin/env bash
# test/t/packages.sh — test/packages.sh says which packages are missing by what each one
# provides: made-up machines (a root directory and a PATH) with and without the server,
# the server headers (also where only pg_config knows them), gcc and make; then this one.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash=$(command -v bash)
failed=0
ver=$(bash "$here/test/packages.sh" version)	# this machine's (test/run exports it)
unset LEADQUAL_PG_VERSION

# expect NAME EXPECTED SYSROOT PATH ARGS...: packages.sh ARGS prints EXPECTED (lines joined by spaces)
expect() {
	local name=$1 want=$2 root=$3 path=$4 got
	shift 4
	got=$(LEADQUAL_SYSROOT=$root PATH=$path "$bash" "$here/test/packages.sh" "$@" | paste -sd' ') ||
		got="(exit $?)"
	if [ "$got" = "$want" ]; then
		echo "ok   $name: '${got}'"
	else
		echo "FAIL $name: wanted '$want', got '$got'"
		failed=1
	fi
}

# a machine's pieces
server() {	# server ROOT VER: postgresql-VER (postgres, initdb, pg_ctl)
	mkdir -p "$1/usr/lib/postgresql/$2/bin"
	for f in postgres initdb pg_ctl; do printf '#!/bin/sh\n' > "$1/usr/lib/postgresql/$2/bin/$f"; done
	chmod +x "$1/usr/lib/postgresql/$2/bin/"*
}
client() {	# client ROOT VER [INCLUDEDIR]: postgresql-client-VER (pg_config, pgxs.mk)
	local inc=${3:-/usr/include/postgresql/$2/server}
	mkdir -p "$1/usr/lib/postgresql/$2/bin" "$1/usr/lib/postgresql/$2/lib/pgxs/src/makefiles"
	printf '#!/bin/sh\n[ "$1" = --includedir-server ] && echo %s\n' "$inc" > "$1/usr/lib/postgresql/$2/bin/pg_config"
	chmod +x "$1/usr/lib/postgresql/$2/bin/pg_config"
	touch "$1/usr/lib/postgresql/$2/lib/pgxs/src/makefiles/pgxs.mk"
}
headers() {	# headers ROOT DIR: postgres.h in DIR
	mkdir -p "$1$2"
	touch "$1$2/postgres.h"
}
mkdir -p "$tmp/nobin" "$tmp/bin" "$tmp/gcc-only"
printf '#!/bin/sh\n' > "$tmp/bin/gcc"
printf '#!/bin/sh\n' > "$tmp/bin/make"
cp "$tmp/bin/gcc" "$tmp/gcc-only/gcc"
chmod +x "$tmp/bin/"* "$tmp/gcc-only/"*
tools=$tmp/bin

# a bare machine needs everything
mkdir -p "$tmp/bare"
expect "bare machine" "postgresql-15 postgresql-server-dev-15 build-essential" "$tmp/bare" "$tmp/nobin" missing 15

# issue 8: postgresql-15 (and so its client, with pgxs.mk) but no server headers
server "$tmp/nodev" 15
client "$tmp/nodev" 15
expect "server and client, no postgres.h" "postgresql-server-dev-15" "$tmp/nodev" "$tools" missing 15

# everything present: nothing to install
cp -a "$tmp/nodev" "$tmp/full"
headers "$tmp/full" /usr/include/postgresql/15/server
expect "everything present" "" "$tmp/full" "$tools" missing 15
expect "no make" "build-essential" "$tmp/full" "$tmp/gcc-only" missing 15
expect "another version" "postgresql-17 postgresql-server-dev-17" "$tmp/full" "$tools" missing 17

# the headers are looked for where pg_config says, not at Debian's path
server "$tmp/elsewhere" 15
client "$tmp/elsewhere" 15 /opt/pg15/include/server
headers "$tmp/elsewhere" /opt/pg15/include/server
expect "headers where pg_config says" "" "$tmp/elsewhere" "$tools" missing 15
server "$tmp/wrongplace" 15
client "$tmp/wrongplace" 15 /opt/pg15/include/server
headers "$tmp/wrongplace" /usr/include/postgresql/15/server
expect "headers where pg_config does not say" "postgresql-server-dev-15" "$tmp/wrongplace" "$tools" missing 15

# headers and client without the server
client "$tmp/noserver" 15
headers "$tmp/noserver" /usr/include/postgresql/15/server
expect "no server" "postgresql-15" "$tmp/noserver" "$tools" missing 15

# which version: told, else the newest installed server, else 15
expect "version, nothing installed" "15" "$tmp/bare" "$PATH" version
cp -a "$tmp/full" "$tmp/two"
server "$tmp/two" 17
server "$tmp/two" 9.6
expect "version, newest installed" "17" "$tmp/two" "$PATH" version
expect "version, client only" "15" "$tmp/noserver" "$PATH" version
LEADQUAL_PG_VERSION=18 expect "version, told" "18" "$tmp/two" "$PATH" version

# this machine: test/run installed what was missing before the suites started
expect "this machine, PostgreSQL $ver" "" "" "$PATH" missing "$ver"

exit $failed
