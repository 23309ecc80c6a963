#!/usr/bin/env bash
# test/packages.sh — what test/run needs from this machine, judged by the files each
# package really provides (Debian ships pgxs.mk, pg_config and pg_regress in
# postgresql-client-N, so none of them says that the server headers are there).
#
#   test/packages.sh version       the PostgreSQL major version to use: $LEADQUAL_PG_VERSION,
#                                  else the newest installed server, else 15 (Debian 12's)
#   test/packages.sh missing VER   the packages missing for VER, one a line (none: no output)
#     postgresql-VER             the server: postgres, initdb, pg_ctl
#     postgresql-server-dev-VER  postgres.h under `pg_config --includedir-server`
#     build-essential            gcc and make on PATH
#
# LEADQUAL_SYSROOT (default: none) is prefixed to every path looked at, so that
# test/t/packages.sh can check this logic on a made-up machine.
set -euo pipefail
sysroot=${LEADQUAL_SYSROOT:-}

case "${1:-}" in
version)
	if [ -n "${LEADQUAL_PG_VERSION:-}" ]; then
		echo "$LEADQUAL_PG_VERSION"
		exit 0
	fi
	newest=""
	for server in "$sysroot"/usr/lib/postgresql/*/bin/postgres; do
		[ -x "$server" ] || continue
		newest=$(printf '%s\n%s\n' "$newest" "$(basename "$(dirname "$(dirname "$server")")")" |
			sort -V | tail -1)
	done
	echo "${newest:-15}"
	;;
missing)
	ver=${2:?usage: test/packages.sh missing VERSION}
	bin=$sysroot/usr/lib/postgresql/$ver/bin
	[ -x "$bin/postgres" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] ||
		echo "postgresql-$ver"
	# pg_config comes with the client (a dependency of the server); without it, Debian's path
	includedir=/usr/include/postgresql/$ver/server
	if [ -x "$bin/pg_config" ]; then
		includedir=$("$bin/pg_config" --includedir-server)
	fi
	[ -f "$sysroot$includedir/postgres.h" ] || echo "postgresql-server-dev-$ver"
	command -v gcc >/dev/null && command -v make >/dev/null || echo build-essential
	;;
*)
	echo "usage: test/packages.sh version | missing VERSION" >&2
	exit 2
	;;
esac
