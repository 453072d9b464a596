#!/bin/sh
# Sets up a fresh Debian 12 machine, builds cimforge and runs the whole test suite,
# once in Release and once under AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --with-training  # the tests generate the full-size ImageNet architectures with PyTorch
JOBS="$(nproc)"
# Tests and benchmarks on explicitly: scripts/demo.sh configures the same build/ without them.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCIM_BUILD_TESTS=ON -DCIM_BUILD_BENCH=ON
cmake --build build -j"$JOBS"
# Two tests at a time: most are single-threaded processes; the OpenMP ones share the cores.
ctest --test-dir build --output-on-failure --no-tests=error -j"$JOBS"
# The sanitizer pass and the fuzz targets share one clang build under ASan + UBSan (CIM_FUZZ=ON
# instruments the libraries for libFuzzer too), so the libraries are compiled once for both.
# MPI and the Python module (a plain python3 cannot load an ASan-instrumented extension) are left
# to the Release pass.
if [ "${CIM_SKIP_SANITIZERS:-0}" != "1" ]; then
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIM_FUZZ=ON \
    -DCIM_BUILD_TESTS=ON -DCIM_BUILD_BENCH=OFF -DCIM_WITH_MPI=OFF -DCIM_PYTHON=OFF
  cmake --build build-asan -j"$JOBS"
  # The accuracy runs over thousands of images (label "heavy") are left to the Release pass:
  # they exercise the same kernels as the tests that do run here, 5-10x slower under ASan.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure --no-tests=error -LE heavy -j"$JOBS"
  # Every libFuzzer target for 15 s from its seed corpus with a fixed seed, so the test run takes
  # the same mutation path each time (long random runs are scripts/fuzz.sh's job, docs/reliability.md);
  # a crash, a hang over 10 s or 2 GB of memory fails, leaving the reproducer in build-asan/artifacts/.
  if [ "${CIM_SKIP_FUZZ:-0}" != "1" ]; then
    FUZZ_SEED="${FUZZ_SEED:-1}" CIM_FUZZ_BUILD=build-asan scripts/fuzz.sh "${CIM_FUZZ_SECONDS:-15}"
  fi
fi
echo "test.sh: all tests passed"
