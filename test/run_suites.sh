#!/usr/bin/env bash
# Runs every suite against the cluster test/run started; prints "N passed, N failed".
# Expects PGHOST/PGPORT/PGUSER, LEADQUAL_BINDIR, LEADQUAL_TMP from test/run.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
pgxs=$(dirname "$(dirname "$(dirname "$(pg_config --pgxs)")")")
out=$LEADQUAL_TMP/results
mkdir -p "$out"
passed=0
failed=0
failures=()

# count <suite> <log> <exit code>: reads pg_regress's result lines, 15's "test x ... ok"
# and "... FAILED" or 16's and later TAP lines "ok 1 - x" and "not ok 1 - x"
count() {
	local ok bad
	ok=$(grep -cE '\.\.\. +ok|^ *ok +[0-9]+ +[-+] ' "$2" || true)
	bad=$(grep -cE '\.\.\. +FAILED|\.\.\. +failed|^ *not ok +[0-9]+ +[-+] ' "$2" || true)
	[ "$3" != 0 ] && [ "$bad" = 0 ] && bad=1	# it failed before running a test
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ "$bad" -gt 0 ] && failures+=("$1")
	return 0
}

regress_tests=$(make -s -C "$here" -f Makefile -f - print-regress <<'MK'
print-regress: ; @echo $(REGRESS)
MK
)
iso_tests=$(make -s -C "$here" -f Makefile -f - print-iso <<'MK'
print-iso: ; @echo $(ISOLATION)
MK
)

# pg_regress (runs as the invoking user; the server is another user's)
if [ -n "$regress_tests" ]; then
	echo "== pg_regress: $regress_tests"
	"$pgxs/src/test/regress/pg_regress" --inputdir="$here" --outputdir="$out/regress" \
		--bindir="$LEADQUAL_BINDIR" --dbname=leadqual_regress --load-extension=plpgsql \
		$regress_tests > "$out/regress.log" 2>&1
	rc=$?
	cat "$out/regress.log"
	count regress "$out/regress.log" $rc
	[ -f "$out/regress/regression.diffs" ] && cat "$out/regress/regression.diffs"
fi

# isolation specs
if [ -n "$iso_tests" ]; then
	echo "== isolation: $iso_tests"
	"$pgxs/src/test/isolation/pg_isolation_regress" --inputdir="$here/test" \
		--outputdir="$out/isolation" --bindir="$LEADQUAL_BINDIR" --dbname=leadqual_iso \
		--load-extension=leadqual $iso_tests > "$out/isolation.log" 2>&1
	rc=$?
	cat "$out/isolation.log"
	count isolation "$out/isolation.log" $rc
	[ -f "$out/isolation/regression.diffs" ] && cat "$out/isolation/regression.diffs"
fi

# shell tests: test/t/*.sh, each exits 0 on success
for t in "$here"/test/t/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if bash "$t" > "$out/$name.log" 2>&1; then
		echo "ok     $name"
		passed=$((passed + 1))
	else
		echo "FAILED $name"
		cat "$out/$name.log"
		failed=$((failed + 1))
		failures+=("$name")
	fi
done

# the benchmark in smoke size: it must run (its ratios are not asserted)
if [ -f "$here/test/bench/run.sh" ] && [ "${LEADQUAL_SKIP_BENCH:-}" != 1 ]; then
	if BENCH_SIZE=smoke bash "$here/test/bench/run.sh" > "$out/bench.log" 2>&1; then
		echo "ok     bench (smoke)"
		passed=$((passed + 1))
	else
		echo "FAILED bench (smoke)"
		tail -50 "$out/bench.log"
		failed=$((failed + 1))
		failures+=(bench)
	fi
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed suites: ${failures[*]}"
	# keep the actual outputs where a developer can compare or adopt them
	mkdir -p "$here/results"
	cp -r "$out"/. "$here/results/" 2>/dev/null
	echo "(actual outputs copied to results/)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
