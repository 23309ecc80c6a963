#!/usr/bin/env bash
# test/pgroot.sh VERSION — makes (or reuses) a minimal Debian root with PostgreSQL VERSION,
# its server headers and a compiler, for running the suites on a server the host lacks.
# Prints the root's path. Needs root (debootstrap, chroot). Roots live in
# $LEADQUAL_ROOTS (default /var/cache/leadqual) and are reused when complete.
set -euo pipefail
ver=$1
case "$ver" in
15) suite=bookworm; aptopt=() ;;
17) suite=trixie; aptopt=() ;;
18) suite=sid; aptopt=(-o Acquire::Check-Valid-Until=false) ;;	# the archive's sid Release may be past its date
*) echo "pgroot: no Debian suite known for PostgreSQL $ver" >&2; exit 2 ;;
esac
roots=${LEADQUAL_ROOTS:-/var/cache/leadqual}
root=$roots/pg$ver
mirror=${LEADQUAL_MIRROR:-http://deb.debian.org/debian}
# one maker per root: parallel test runs wait here for the first one's root
mkdir -p "$roots"
exec 9>"$roots/pg$ver.lock"
flock 9
if [ ! -f "$root/.leadqual-complete" ]; then
	command -v debootstrap >/dev/null || {
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	}
	rm -rf "$root"
	echo "== pgroot: debootstrap $suite into $root (PostgreSQL $ver)" >&2
	debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$roots/pg$ver.log" 2>&1 || {
		tail -20 "$roots/pg$ver.log" >&2; exit 1; }
	echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
	# package scripts (postgresql-common's) need /proc: mounted in a private mount
	# namespace, so it goes away with apt-get whatever happens
	apt_in_root() {
		unshare --mount --propagation private --mount-proc="$root/proc" \
			chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get "${aptopt[@]}" "$@" \
			>>"$roots/pg$ver.log" 2>&1 || { tail -20 "$roots/pg$ver.log" >&2; exit 1; }
	}
	apt_in_root update -qq
	apt_in_root install -y -qq --no-install-recommends \
		"postgresql-$ver" "postgresql-server-dev-$ver" build-essential
	touch "$root/.leadqual-complete"
fi
echo "$root"
