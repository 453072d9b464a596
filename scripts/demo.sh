#!/bin/sh
# Sets up a fresh Debian 12 machine, builds cimforge and runs the main job on a
# bundled model and device: the VGG-style Fashion-MNIST network mapped onto WTM2101.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCIM_BUILD_TESTS=OFF -DCIM_BUILD_BENCH=OFF
cmake --build build -j"$(nproc)"
build/bin/cim-run models/zoo/vgg/model.onnx --test-data models/zoo/vgg/test_data_set_0
build/bin/cim-map models/zoo/vgg/model.onnx --device wtm2101
