#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang 14 under ASan+UBSan in build-fuzz/ and runs
# each on a copy of its seed corpus (fuzz/corpus/<target>/) for its share of the total time.
# Usage: scripts/fuzz.sh [SECONDS_TOTAL [TARGET...]]    default: 60 s over every target
# Nothing is written into the repository: the corpora grow in a temporary directory, printed
# first. Exits non-zero if any target crashes, leaving the crashing input there (printed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
total=${1:-60}
shift $(($# > 0 ? 1 : 0))
"$root/scripts/install-deps.sh" --fuzz

build_dir="$root/build-fuzz"
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOPICDB_FUZZ=ON -DTOPICDB_BUILD_TESTS=OFF \
  -DTOPICDB_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target topicdb_fuzzers

targets=("$@")
if ((${#targets[@]} == 0)); then
  for bin in "$build_dir"/fuzz/fuzz_*; do targets+=("${bin##*/fuzz_}"); done
fi
share=$((total / ${#targets[@]}))
((share > 0)) || share=1

work=$(mktemp -d "${TMPDIR:-/tmp}/topicdb-fuzz.XXXXXX")
echo "fuzz: ${#targets[@]} targets, ${share} s each; corpora, logs and crashes in $work"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/crashes/$t"
  if [[ -d "$root/fuzz/corpus/$t" ]]; then cp -r "$root/fuzz/corpus/$t/." "$work/corpus/$t/"; fi
  # -artifact_prefix: where a crashing (or leaking, or timing out) input is written.
  if "$build_dir/fuzz/fuzz_$t" -max_total_time="$share" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$work/crashes/$t/" "$work/corpus/$t" >"$work/$t.log" 2>&1; then
    echo "fuzz: $t ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" |
      grep -o '[0-9]*$') runs)"
  else
    failed+=("$t")
    echo "fuzz: $t FAILED, log $work/$t.log" >&2
    tail -n 40 "$work/$t.log" >&2
    for f in "$work/crashes/$t"/*; do
      [[ -e "$f" ]] && echo "fuzz: crashing input kept at $f (replay: $build_dir/fuzz/fuzz_$t $f)" >&2
    done
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: crashes in ${failed[*]}; inputs under $work/crashes" >&2
  exit 1
fi
echo "fuzz: no crashes"
