#!/bin/sh
# Mixed precision against uniform widths at the same array budget (docs/quantization.md).
# Device: mram_princeton22 (1-bit cells, two's-complement slices: columns grow with the
# weight width) with 8-bit weights and inputs and 128-column arrays.
#   scripts/quant_mixed_precision.sh [BUILD_DIR] [OUT_DIR]
set -eu
BUILD="${1:-build}"
OUT="${2:-$BUILD/quant-table}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
Q="$BUILD/bin/cim-quant"
mkdir -p "$OUT"
DEV="--device mram_princeton22 --set weight.bits=8 --set input.bits=8 --set quant.activation_bits=8 \
 --set array.cols=128 --set array.usable_cols=128 --set array.capacity_bits=32768 \
 --set quant.per_channel=true --set quant.bias_correction=true"
run() {  # name model args...
  name="$1"; model="$2"; shift 2
  f="$OUT/$model.$name.json"
  if [ ! -s "$f" ]; then "$Q" "$ROOT/models/zoo/$model/model.onnx" --dataset fashion-mnist --calibration 256 --json $DEV "$@" > "$f.tmp" && mv "$f.tmp" "$f"; fi
  python3 -c "import json; j=json.load(open('$f')); mp=j.get('mixed_precision'); print('%-8s %-12s quant %.2f (float %.2f)%s' % ('$model','$name',100*j['accuracy'],100*j['float_accuracy'], '' if not mp else '  arrays %d of %d, bits %s; uniform fitting: %d bits (%d arrays)' % (mp['arrays'],mp['budget_arrays'],mp['chosen_bits'],mp['uniform_bits_fitting'],mp['uniform_arrays'])))"
}
for spec in "vgg 74 60" "resnet 70 55"; do
  set -- $spec
  m=$1
  for b in 2 4; do run "uniform$b" "$m" --set quant.weight_bits=$b; done
  run "mp$2" "$m" --set quant.weight_bits=8 --set quant.mixed_precision_budget_arrays=$2
  run "mp$3" "$m" --set quant.weight_bits=8 --set quant.mixed_precision_budget_arrays=$3
done
