#!/usr/bin/env bash
# test/valgrind.sh — the pg_regress suites with the server under valgrind memcheck;
# reports the errors whose stack has a leadqual frame.  Run by `bash test/run valgrind`
# (it restarts test/run's throwaway cluster under valgrind).  Slow: not part of CI.
#
# Debian's server is built without USE_VALGRIND, so memcheck sees palloc chunks only as
# parts of larger malloc'd blocks: reads past a chunk inside its block go unseen, but
# uninitialised values, reads past a block and invalid frees are reported.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${LEADQUAL_TMP:?run through test/run valgrind}" "${LEADQUAL_BINDIR:?}"
data=$LEADQUAL_TMP/data
vg=$LEADQUAL_TMP/valgrind
runuser=""
[ "$(id -u)" = 0 ] && runuser=postgres
as_server() { if [ -n "$runuser" ]; then runuser -u "$runuser" -- "$@"; else "$@"; fi; }

if ! command -v valgrind >/dev/null; then
	if [ "$(id -u)" != 0 ]; then echo "valgrind: not installed (run as root to install it)"; exit 2; fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null || exit 2
fi

mkdir -p "$vg"
cp "$here/test/valgrind.supp" "$vg/"
[ -n "$runuser" ] && chown -R "$runuser" "$vg"

start=$(date +%s)
as_server "$LEADQUAL_BINDIR/pg_ctl" -D "$data" -m fast -w stop >/dev/null || exit 1
# every backend is a fork of the postmaster, so it runs under valgrind too (one log per pid)
as_server valgrind --tool=memcheck --leak-check=no --track-origins=yes --num-callers=40 \
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END --suppressions="$vg/valgrind.supp" \
	--log-file="$vg/%p.log" "$LEADQUAL_BINDIR/postgres" -D "$data" -c shared_buffers=128MB \
	> "$LEADQUAL_TMP/log/valgrind-server.log" 2>&1 &
for _ in $(seq 600); do
	pg_isready -q && break
	sleep 1
done
pg_isready -q || { echo "valgrind: the server did not start"; tail -20 "$LEADQUAL_TMP/log/valgrind-server.log"; exit 1; }

# VALGRIND_TESTS: a subset of the suites (setup first), for a run after a change to a few
tests=${VALGRIND_TESTS:-$(make -s -C "$here" -f Makefile -f - print-regress <<'MK'
print-regress: ; @echo $(REGRESS)
MK
)}
pgxs=$(dirname "$(dirname "$(dirname "$(pg_config --pgxs)")")")
mkdir -p "$LEADQUAL_TMP/results"
echo "== pg_regress under valgrind: $tests"
"$pgxs/src/test/regress/pg_regress" --inputdir="$here" --outputdir="$LEADQUAL_TMP/results/valgrind" \
	--bindir="$LEADQUAL_BINDIR" --dbname=leadqual_valgrind --load-extension=plpgsql $tests
regress_rc=$?
as_server "$LEADQUAL_BINDIR/pg_ctl" -D "$data" -m fast -w -t 600 stop >/dev/null

# one error = the lines between the markers; a leadqual error has a frame in leadqual.so
srcs=$(cd "$here/src" && ls *.c | paste -sd'|')
read -r total ours < <(awk -v srcs="$srcs" '
	/VALGRINDERROR-BEGIN/ { inerr = 1; mine = 0; next }
	/VALGRINDERROR-END/ { total++; if (mine) ours++; inerr = 0; next }
	inerr && ($0 ~ /leadqual\.so/ || $0 ~ "\\((" srcs "):[0-9]+\\)") { mine = 1 }
	END { print total + 0, ours + 0 }' "$vg"/*.log)
if [ "$ours" -gt 0 ]; then
	echo "== errors with a leadqual frame:"
	awk -v srcs="$srcs" '
		/VALGRINDERROR-BEGIN/ { buf = ""; inerr = 1; mine = 0; next }
		/VALGRINDERROR-END/ { if (mine) print buf "----"; inerr = 0; next }
		inerr { buf = buf $0 "\n"; if ($0 ~ /leadqual\.so/ || $0 ~ "\\((" srcs "):[0-9]+\\)") mine = 1 }' \
		"$vg"/*.log | head -300
fi
# what the other errors are: kind and first frame, most frequent first
echo "== errors by kind and innermost frame:"
awk '/VALGRINDERROR-BEGIN/ { inerr = 1; kind = ""; frame = ""; next }
	/VALGRINDERROR-END/ { print kind " @ " frame; inerr = 0; next }
	inerr && kind == "" { sub(/^==[0-9]+== /, ""); kind = $0; next }
	inerr && frame == "" && /(at|by) 0x/ { sub(/^==[0-9]+== +(at|by) 0x[0-9A-F]+: /, ""); frame = $0 }' \
	"$vg"/*.log | sort | uniq -c | sort -rn | head -20
# keep the logs and the failed tests' diffs where a developer can read them
rm -rf "$here/results/valgrind"
mkdir -p "$here/results/valgrind"
cp "$vg"/*.log "$here/results/valgrind/" 2>/dev/null
cp "$LEADQUAL_TMP/results/valgrind/regression.diffs" "$here/results/valgrind/" 2>/dev/null
echo "valgrind: $(ls "$vg"/*.log | wc -l) processes, $total errors, $ours in leadqual frames; pg_regress exit $regress_rc; $(( $(date +%s) - start )) s"
[ "$ours" -eq 0 ] && [ "$regress_rc" -eq 0 ]
