#!/bin/sh
# Builds the libFuzzer targets (fuzz/) with clang under ASan + UBSan in build-fuzz/ and runs each
# for SECONDS (default 60), two at a time, from a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/, written by scripts/make_fuzz_corpus.py; never grown here).
# A crash, a sanitizer report, an input running over 10 s or needing over 2 GB fails the run:
# the reproducer is left in build-fuzz/artifacts/<target>/ and its path printed.
# Reproduce one:   build-fuzz/bin/<target> build-fuzz/artifacts/<target>/crash-...
# Usage: [FUZZ_SEED=N] scripts/fuzz.sh [SECONDS] [TARGET...]      (docs/reliability.md, "Fuzzing")
set -eu
cd "$(dirname "$0")/.."
DURATION="${1:-60}"
[ $# -gt 0 ] && shift
TARGETS="${*:-$(cd fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')}"  # default: every fuzz/fuzz_*.cpp
SEED="${FUZZ_SEED:-0}"  # libFuzzer's -seed: 0 draws a random one; a fixed one repeats the mutation path
PARALLEL="${FUZZ_JOBS:-2}"  # fuzzers at once (one per core on the 2-core CI machine)
# The build directory: build-fuzz/, or one already configured with CIM_FUZZ=ON (scripts/test.sh
# passes its sanitizer build, CIM_FUZZ_BUILD=build-asan, so the libraries are compiled once).
B="${CIM_FUZZ_BUILD:-build-fuzz}"

start=$(date +%s)
if ! grep -q '^CIM_FUZZ:BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null; then
  CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIM_FUZZ=ON \
    -DCIM_BUILD_TESTS=OFF -DCIM_BUILD_BENCH=OFF -DCIM_WITH_MPI=OFF >/dev/null
fi
cmake --build "$B" --target fuzz -j"$(nproc)"
echo "fuzz.sh: built the targets in $(($(date +%s) - start)) s"

max_len() {
  case "$1" in
    fuzz_onnx_import) echo 1048576 ;;
    fuzz_tensor_pb) echo 262144 ;;
    *) echo 65536 ;;
  esac
}
dict() {
  case "$1" in
    fuzz_onnx_import | fuzz_tensor_pb) echo tests/fuzz/onnx.dict ;;
    fuzz_device_yaml | fuzz_sweep_spec) echo tests/fuzz/yaml.dict ;;
  esac
}

# Runs one target; its libFuzzer output goes to $B/logs/<target>.log, its exit status to .rc.
run() {
  t=$1
  rm -rf "$B/corpus/$t" "$B/artifacts/$t" "$B/tmp/$t"
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "$B/tmp/$t" "$B/logs"
  cp tests/fuzz/corpus/"$t"/* "$B/corpus/$t/"
  d=$(dict "$t")
  set +e
  # One OpenMP thread: the other core runs the other fuzzer.
  TMPDIR="$PWD/$B/tmp/$t" OMP_NUM_THREADS=1 "$B/bin/$t" "$B/corpus/$t" \
    -max_total_time="$DURATION" -seed="$SEED" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len="$(max_len "$t")" \
    ${d:+-dict="$d"} -artifact_prefix="$B/artifacts/$t/" -print_final_stats=1 >"$B/logs/$t.log" 2>&1
  echo $? >"$B/logs/$t.rc"
  set -e
}

runs_start=$(date +%s)
set -- $TARGETS
while [ $# -gt 0 ]; do
  batch=""
  while [ $# -gt 0 ] && [ "$(echo $batch | wc -w)" -lt "$PARALLEL" ]; do
    batch="$batch $1"
    shift
  done
  echo "fuzz.sh: running$batch for $DURATION s"
  for t in $batch; do run "$t" & done
  wait
done

failed=0
for t in $TARGETS; do
  log="$B/logs/$t.log"
  execs=$(grep -a '^stat::number_of_executed_units:' "$log" | tail -1 | tr -dc 0-9)
  final=$(grep -aE '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$final" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$final" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$final" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
  if [ "$(cat "$B/logs/$t.rc")" = 0 ]; then
    echo "fuzz.sh: $t: ok, ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  else
    failed=1
    echo "fuzz.sh: $t: FAILED after ${execs:-?} executions (cov ${cov:-?}, ft ${ft:-?}); log $log"
    grep -aE '^==[0-9]+==ERROR|runtime error|^fuzz: |ERROR: libFuzzer' "$log" | head -5 | sed 's/^/  /'
    for a in $(grep -a 'Test unit written to' "$log" | sed 's/.*Test unit written to //'); do echo "  reproducer: $a (run: $B/bin/$t $a)"; done
  fi
done
echo "fuzz.sh: fuzzing took $(($(date +%s) - runs_start)) s, $(($(date +%s) - start)) s with the build"
exit $failed
