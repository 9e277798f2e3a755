#!/usr/bin/env bash
# Runs every AFL++ harness for SECONDS seconds each (default 60), two at a time, and prints each
# target's executions, crashes and hangs; exits non-zero if any crash or hang was found.
# Needs cargo-afl (`cargo install cargo-afl && cargo afl config --build`).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
OUT="${AFL_OUT:-/tmp/rmlx-afl}"
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
cargo afl build --release --bins >/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"
targets=(safetensors npy npz optimizer_state nn_weights)
corpus() { case "$1" in optimizer_state) echo corpus/optimizer_state;; nn_weights) echo corpus/nn_weights;; *) echo "corpus/$1";; esac; }
run() { cargo afl fuzz -i "$(corpus "$1")" -o "$OUT/$1" -V "$SECONDS_EACH" "target/release/$1" >"$OUT/$1.log" 2>&1 || true; }
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[$i]}" &
  if ((i + 1 < ${#targets[@]})); then run "${targets[$((i + 1))]}" & fi
  wait
done
bad=0
for t in "${targets[@]}"; do
  s="$OUT/$t/default/fuzzer_stats"
  if [[ ! -f "$s" ]]; then echo "$t: no stats (see $OUT/$t.log)"; bad=1; continue; fi
  execs=$(awk -F: '/^execs_done/ {gsub(/ /,"",$2); print $2}' "$s")
  crashes=$(awk -F: '/^saved_crashes/ {gsub(/ /,"",$2); print $2}' "$s")
  hangs=$(awk -F: '/^saved_hangs/ {gsub(/ /,"",$2); print $2}' "$s")
  echo "$t: $execs executions, $crashes crashes, $hangs hangs"
  if [[ "$crashes" != 0 || "$hangs" != 0 ]]; then bad=1; fi
done
exit $bad
