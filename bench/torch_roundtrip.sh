#!/usr/bin/env bash
# Checks that a model saved by `chainrule train --save` loads into PyTorch with the README's
# lines and predicts what `chainrule predict` prints, to 1e-5 (relative, for a regressor's
# values): a classifier with class names (iris) and a regressor (diabetes).
#
# Needs torch in the peers' interpreter, as bench/compare.sh does (its set-up line);
# PYTHON=path picks it. Exit status 0 when every prediction agrees.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || { echo "error: $python not found; see the set-up line at the top of bench/compare.sh" >&2; exit 2; }

cargo build --release -q --bin chainrule
chainrule=target/release/chainrule
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for case in "iris_named.csv species" "diabetes.csv target"; do
  set -- $case
  data=data/$1
  "$chainrule" train "$data" --target "$2" --epochs 30 --save "$dir/model.safetensors" \
    > /dev/null 2> "$dir/train.log" || { cat "$dir/train.log" >&2; exit 1; }
  "$chainrule" predict "$dir/model.safetensors" "$data" > "$dir/predictions.csv"
  "$python" bench/torch_roundtrip.py "$dir/model.safetensors" "$data" "$dir/predictions.csv"
done
