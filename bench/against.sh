#!/usr/bin/env bash
# Times the workloads in this tree against another commit of chainrule, the two alternating in
# one run on one machine, and prints the medians and the speed-up of this tree (above 1 means
# this tree is faster). For a change that must not cost speed, such as a refactoring:
#
#   bash bench/against.sh REV [ROUNDS]      (ROUNDS alternations per workload, default 7)
#   ONLY="lstm-seq" bash bench/against.sh REV    runs only the workloads named
#
# REV is built in a worktree under target/against/ (its own target directory, kept between
# runs); the worktree is removed again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bash bench/against.sh REV [ROUNDS]}
rounds=${2:-7}
commit=$(git rev-parse --verify "$rev^{commit}")
other=target/against/tree

cargo build --release -q -p chainrule-bench
mkdir -p target/against
git worktree remove --force "$other" 2>/dev/null || true
git worktree add -q --detach "$other" "$commit"
trap 'git worktree remove --force "$other"' EXIT
CARGO_TARGET_DIR=target/against/target cargo build --release -q -p chainrule-bench \
  --manifest-path "$other/Cargo.toml"
ours=target/release/chainrule-bench
theirs=target/against/target/release/chainrule-bench

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
figure() { tail -1 | awk '{print $3}'; }   # "<workload> chainrule <figure> <unit> ..." -> figure

echo "this tree: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' + uncommitted changes'), against: $(git rev-parse --short "$commit")"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores"
echo "date: $(date -u +%Y-%m-%d), rounds: $rounds (medians), command: bash bench/against.sh $rev $rounds"
echo
echo "| workload     | threads |    this tree |      against | unit         | speed-up |"
echo "| ---          | ---     |          --- |          --- | ---          |      --- |"
compare() {
  local name=$1 threads=$2 unit=$3 better=$4
  [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]] || return 0
  local a=() b=()
  for _ in $(seq "$rounds"); do
    a+=("$($ours "$name" --threads "$threads" 2>/dev/null | figure)")
    b+=("$($theirs "$name" --threads "$threads" 2>/dev/null | figure)")
  done
  local x y ratio
  x=$(printf '%s\n' "${a[@]}" | median)
  y=$(printf '%s\n' "${b[@]}" | median)
  if [ "$better" = higher ]; then ratio=$(awk -v a="$x" -v b="$y" 'BEGIN {printf "%.3f", a/b}')
  else ratio=$(awk -v a="$x" -v b="$y" 'BEGIN {printf "%.3f", b/a}'); fi
  printf '| %-12s | %-7s | %12s | %12s | %-12s | %7s× |\n' "$name" "$threads" "$x" "$y" "$unit" "$ratio"
}
for t in 1 2; do
  compare op-overhead "$t" ns/op lower
  compare mlp-digits "$t" samples/s higher
  compare lstm-seq "$t" ms/batch lower
done
compare scalar-mlp 1 ms/step lower
