#!/usr/bin/env bash
# Runs every standard workload in chainrule and in PyTorch (and micrograd for scalar-mlp), the
# two alternating, at 1 and 2 threads, and prints a table of medians and the speed-up of
# chainrule over the peer (above 1 means chainrule is faster).
#
# Set-up, once (about two minutes; PyPI's torch wheel is large):
#   python3 -m venv .venv && .venv/bin/pip install torch numpy scikit-learn micrograd
# Then:  bash bench/compare.sh [ROUNDS]      (ROUNDS alternations per workload, default 3)
# PYTHON=path picks the peers' interpreter; ONLY="mlp-wide mlp-digits" runs only those workloads.
# ONLY=scaling (only when named: it takes a few minutes) prints the scaling curves at 1 and 2
# threads, chainrule's tables with PyTorch's MLP figures beside them, one pass each rather than
# ROUNDS alternations (each point is already a median of its own runs), and draws them into
# target/scaling-1t.svg and target/scaling-2t.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || { echo "error: $python not found; see the set-up line at the top of $0" >&2; exit 2; }

cargo build --release -q -p chainrule-bench
bench=target/release/chainrule-bench

# A slower current numpy/torch results from these on some CPUs (see the machine notes); the
# peers run without them, chainrule does not read them.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
figure() { awk '{print $3}'; }   # "<workload> <peer> <figure> <unit> ..." -> figure

cores=$(nproc)
model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mhz=$(lscpu 2>/dev/null | awk -F: '/CPU max MHz/ {gsub(/ /,"",$2); print $2}')
[ -n "$mhz" ] || mhz=$(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
fma=$(grep -qw avx512f /proc/cpuinfo && echo 64 || echo 32)   # f32 FLOP per cycle per core, two FMA units
peak_core=$(awk -v m="$mhz" -v f="$fma" 'BEGIN {printf "%.0f", m/1000*f}')
echo "machine: $model, $cores cores, ~${mhz} MHz; f32 FMA peak ~${peak_core} GFLOP/s per core, ~$((peak_core*cores)) for $cores"
echo "date: $(date -u +%Y-%m-%d), rounds: $rounds (medians), command: bash bench/compare.sh $rounds"
echo

selected() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

# workload | chainrule args | peer command | higher-is-better?
run_pair() {
  local name=$1 threads=$2 peer_label=$3 better=$4; shift 4
  selected "$name" || return 0
  local ours=() theirs=()
  for _ in $(seq "$rounds"); do
    ours+=("$($bench "$name" --threads "$threads" 2>/dev/null | figure)")
    theirs+=("$("$@" 2>/dev/null | tail -1 | figure)")
  done
  local a b
  a=$(printf '%s\n' "${ours[@]}" | median)
  b=$(printf '%s\n' "${theirs[@]}" | median)
  local ratio
  if [ "$better" = higher ]; then ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}')
  else ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b/a}'); fi
  printf '| %-12s | %s | %-22s | %12s | %12s | %7s× |\n' "$name" "$threads" "$peer_label" "$a" "$b" "$ratio"
}

if [ "$(echo ${ONLY:-})" != scaling ]; then   # the table, unless only the curves were asked for
  echo "| workload     | threads | peer                   |    chainrule |         peer | speed-up |"
  echo "| ---          | ---     | ---                    |          --- |          --- |      --- |"
fi
for t in 1 2; do
  run_pair op-overhead "$t" "torch (ns/op)" lower "$python" bench/torch_workloads.py op-overhead --threads "$t"
  run_pair mlp-digits "$t" "torch (samples/s)" higher "$python" bench/torch_workloads.py mlp-digits --threads "$t"
  run_pair mlp-wide "$t" "torch (ms/step)" lower "$python" bench/torch_workloads.py mlp-wide --threads "$t"
  run_pair matmul-1024 "$t" "torch (GFLOP/s)" higher "$python" bench/torch_workloads.py matmul-1024 --threads "$t"
  run_pair lstm-seq "$t" "torch nn.LSTM (ms)" lower "$python" bench/torch_workloads.py lstm-seq --threads "$t" --variant fused
  run_pair conv-digits "$t" "torch (samples/s)" higher "$python" bench/torch_workloads.py conv-digits --threads "$t"
  run_pair conv-32 "$t" "torch (GFLOP/s)" higher "$python" bench/torch_workloads.py conv-32 --threads "$t"
done
run_pair scalar-mlp 1 "torch 0-d tensors (ms)" lower "$python" bench/torch_workloads.py scalar-mlp --threads 1 --variant scalar
# micrograd takes ~1.7 s a step; 10 steps give a stable median per step.
run_pair scalar-mlp 1 "micrograd (ms)" lower "$python" bench/micrograd_workload.py scalar-mlp --steps 10
echo
if [[ " ${ONLY:-} " == *" scaling "* ]]; then
  peer=$(mktemp)
  trap 'rm -f "$peer"' EXIT
  for t in 1 2; do
    echo "### scaling, $t thread(s)"
    echo
    "$python" bench/torch_workloads.py scaling --threads "$t" 2>/dev/null >"$peer"
    $bench scaling --threads "$t" --peer "$peer" --svg "target/scaling-${t}t.svg" 2>/dev/null
    echo
    echo "(plot: target/scaling-${t}t.svg)"
    echo
  done
fi
selected mlp-digits || exit 0
# Peak resident memory (KiB) of a whole mlp-digits process, chainrule's including its warm-up run.
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "mlp-digits peak resident memory: chainrule $(rss $bench mlp-digits --runs 1) KiB," \
     "torch $(rss "$python" bench/torch_workloads.py mlp-digits --threads 1) KiB"
echo "mlp-digits test accuracy, chainrule: $($bench mlp-digits --runs 1 2>/dev/null | awk '{print $5}')," \
     "torch: $("$python" bench/torch_workloads.py mlp-digits 2>/dev/null | tail -1 | awk '{print $5}')"
echo "conv-digits test accuracy, chainrule: $($bench conv-digits --runs 1 2>/dev/null | awk '{print $5}')," \
     "torch: $("$python" bench/torch_workloads.py conv-digits 2>/dev/null | tail -1 | awk '{print $5}')"
