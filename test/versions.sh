#!/usr/bin/env bash
# test/versions.sh — what `test/run test` does: every suite on each PostgreSQL version of
# LEADQUAL_PG_VERSIONS (default "15 17 18"; e.g. LEADQUAL_PG_VERSIONS=15 for a quick run).
#
# A version the host has installed, or the host's own (test/packages.sh version, which
# test/run installs when missing: 15 on Debian 12), runs on the host.  Another runs in a
# minimal Debian root with that version (test/pgroot.sh makes it once, then reuses it):
# a copy of this worktree goes into the root's /tmp and `test/run test` runs there under
# chroot, inside private mount and PID namespaces, so /proc, /dev and /dev/shm are mounted
# for that run alone and vanish with it, together with every process it started.
# A version that cannot run here says why, and its C sources are at least compiled
# against its headers when a root with them exists; it counts as one failure.
#
# Prints one line per version, "PostgreSQL V: N passed, N failed", and last
# "N passed, N failed" over all versions.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
read -r -a versions <<<"${LEADQUAL_PG_VERSIONS:-15 17 18}"
hostver=$(bash "$here/test/packages.sh" version)
roots=${LEADQUAL_ROOTS:-/var/cache/leadqual}
logs=$(mktemp -d /tmp/leadqual-versions.XXXXXX)
copy=""
cleanup() { [ -n "$copy" ] && rm -rf "$copy"; rm -rf "$logs"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

# on_host VERSION LOG: test/run test on the host
on_host() {
	LEADQUAL_PG_VERSION=$1 bash "$here/test/run" test 2>&1 | tee "$2"
}

# in_root VERSION ROOT LOG: test/run test on a copy of the worktree inside ROOT
in_root() {
	local ver=$1 root=$2 rc
	copy=$(mktemp -d "$root/tmp/leadqual-src.XXXXXX")
	# the working tree as it is (uncommitted changes included), without host build products
	tar -C "$here" --exclude=./.git --exclude=./results --exclude='*.o' --exclude='*.bc' \
		--exclude='*.so' -cf - . | tar -C "$copy" -xf -
	unshare --mount --propagation private --pid --fork --mount-proc="$root/proc" \
		bash -c 'mount --bind /dev "$1/dev" && mount -t tmpfs -o mode=1777 shm "$1/dev/shm" &&
			exec chroot "$@"' _ "$root" \
		/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 LEADQUAL_PG_VERSION="$ver" \
		${LEADQUAL_SKIP_BENCH:+LEADQUAL_SKIP_BENCH=$LEADQUAL_SKIP_BENCH} \
		${LEADQUAL_SHARED_BUFFERS:+LEADQUAL_SHARED_BUFFERS=$LEADQUAL_SHARED_BUFFERS} \
		bash -c 'cd "$1" && bash test/run test' _ "${copy#"$root"}" 2>&1 | tee "$3"
	rc=${PIPESTATUS[0]}
	if [ -d "$copy/results" ]; then	# failed suites' outputs, for the developer
		mkdir -p "$here/results/pg$ver"
		cp -r "$copy/results/." "$here/results/pg$ver/"
		echo "(PostgreSQL $ver: actual outputs copied to results/pg$ver/)"
	fi
	rm -rf "$copy"
	copy=""
	return "$rc"
}

# compile_only VERSION ROOT: the C sources against ROOT's server headers, with the host's
# compiler (no privileges needed); prints what failed
compile_only() {
	local inc=$2/usr/include/postgresql/$1/server
	[ -f "$inc/postgres.h" ] || { echo "no PostgreSQL $1 headers in $2"; return 1; }
	gcc -fsyntax-only -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
		-Wno-sign-compare -Wno-missing-field-initializers -I "$here/src" -I "$inc" \
		"$here"/src/*.c 2>&1
}

total_passed=0
total_failed=0
summaries=()
for ver in "${versions[@]}"; do
	out=$logs/pg$ver.log
	start=$SECONDS
	where=""
	why=""
	if [ "$ver" = "$hostver" ] || [ -x "/usr/lib/postgresql/$ver/bin/postgres" ]; then
		log "PostgreSQL $ver on this machine"
		where="this machine"
		on_host "$ver" "$out"
	elif [ "$(id -u)" != 0 ]; then
		why="making and entering a Debian root needs root (debootstrap, mount, chroot)"
	elif ! root=$(bash "$here/test/pgroot.sh" "$ver" 2>"$out.err"); then
		why="no Debian root with PostgreSQL $ver: $(tail -5 "$out.err" | paste -sd' ')"
	elif ! err=$(unshare --mount --propagation private --pid --fork \
		--mount-proc="$root/proc" true 2>&1); then
		why="private mount and PID namespaces are not allowed here ($err)"
	else
		log "PostgreSQL $ver in the Debian root $root"
		where="Debian root $root"
		in_root "$ver" "$root" "$out"
	fi

	if [ -n "$why" ]; then
		echo "PostgreSQL $ver cannot run here: $why" | tee "$out"
		root=$roots/pg$ver
		if [ -f "$root/.leadqual-complete" ]; then
			if msg=$(compile_only "$ver" "$root"); then
				why="$why; compiled against its headers: ok"
			else
				printf '%s\n' "$msg"
				why="$why; compiled against its headers: FAILED"
			fi
		fi
		summaries+=("PostgreSQL $ver: 0 passed, 1 failed (not run: $why)")
		total_failed=$((total_failed + 1))
		continue
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
	if [ -z "$line" ]; then
		summaries+=("PostgreSQL $ver: 0 passed, 1 failed (the run stopped before its suites' summary; $where)")
		total_failed=$((total_failed + 1))
		continue
	fi
	read -r p _ f _ <<<"$line"
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	summaries+=("PostgreSQL $ver: $p passed, $f failed ($where, $((SECONDS - start)) s)")
done

echo
printf '%s\n' "${summaries[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
