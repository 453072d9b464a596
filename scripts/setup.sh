#!/bin/sh
# Installs the Debian 12 packages cimforge needs, when they are missing.
# Usage: scripts/setup.sh [--with-training]   (training adds PyTorch and ONNX for Python)
set -eu
PKGS="cmake g++ make ninja-build pkg-config libeigen3-dev libyaml-cpp-dev libgomp1 zlib1g-dev libbenchmark-dev \
doctest-dev libprotobuf-dev protobuf-compiler libonnx-dev libcli11-dev nlohmann-json3-dev libfmt-dev \
libonnx-testdata dataset-fashion-mnist python3-onnx python3-numpy libopenmpi-dev openmpi-bin libzip-dev libpng-dev libjpeg62-turbo-dev \
clang libclang-rt-14-dev libomp-dev \
pybind11-dev python3-dev python3-pytest"  # clang, its libFuzzer/ASan/UBSan runtimes and its OpenMP: scripts/fuzz.sh;
# pybind11 and pytest: the Python module (python/, docs/python.md) and its tests. Optional for it:
# python3-tqdm (progress bars), python3-matplotlib (scripts/python_tutorial.py's figures), python3-pandas
if [ "${1:-}" = "--with-training" ]; then
  PKGS="$PKGS python3-torch python3-torchvision python3-pil libopenblas0-pthread"
fi
MISSING=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    MISSING="$MISSING $p"
  fi
done
if [ -n "$MISSING" ]; then
  echo "setup: installing$MISSING"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $MISSING
else
  echo "setup: all packages present"
fi
