#!/bin/sh
# Measures the tables of docs/quantization.md: every configuration on all 10,000
# Fashion-MNIST test images, calibrated on 256 training images. Writes one JSON
# file per run into OUT (default build/quant-table) and prints a summary line each.
#   scripts/quant_table.sh [BUILD_DIR] [OUT_DIR] [MODELS...]
set -eu
BUILD="${1:-build}"
OUT="${2:-$BUILD/quant-table}"
shift 2 2>/dev/null || true
MODELS="${*:-mlp lenet5 vgg resnet mobilenet vit}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
Q="$BUILD/bin/cim-quant"
mkdir -p "$OUT"
COMMON="--device wtm2101 --dataset fashion-mnist --calibration 256 --json --set quant.per_channel=true --set quant.power_of_two_scales=false"
run() {  # name model args...
  name="$1"; model="$2"; shift 2
  f="$OUT/$model.$name.json"
  if [ ! -s "$f" ]; then "$Q" "$ROOT/models/zoo/$model/model.onnx" $COMMON "$@" > "$f.tmp" && mv "$f.tmp" "$f"; fi
  python3 -c "import json,sys; j=json.load(open('$f')); print('%-10s %-26s float %.2f  quant %.2f  drop %.2f  (%.0f s)' % ('$model','$name',100*j['float_accuracy'],100*j['accuracy'],100*j['accuracy_drop'],j['seconds']['total']))"
}
for m in $MODELS; do
  [ -f "$ROOT/models/zoo/$m/model.onnx" ] || { echo "$m: not in the zoo yet"; continue; }
  run int8 "$m"
  run pow2_int8 "$m" --set quant.power_of_two_scales=true
  run pow2_int8_tensor "$m" --set quant.power_of_two_scales=true --set quant.per_channel=false
  run ternary "$m" --set quant.weight_mode=ternary --set quant.bias_correction=true
  case "$m" in mlp|vit) continue;; esac
  W4="--set quant.weight_bits=4"
  run w4_nearest "$m" $W4
  run w4_mse "$m" $W4 --set quant.weight_calibration=mse
  run w4_bc "$m" $W4 --set quant.bias_correction=true
  run w4_cle_bc "$m" $W4 --set quant.cle=true --set quant.bias_correction=true
  run w4_adaround "$m" $W4 --set quant.adaround=true
  run w4_best "$m" $W4 --set quant.cle=true --set quant.adaround=true --set quant.bias_correction=true
done
