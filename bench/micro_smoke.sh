#!/usr/bin/env bash
# CTest smoke test of the micro benchmarks: runs every one for a moment and fails if one is
# missing or reported an error (a decode that failed, a topic that did not match exactly
# once); Google Benchmark itself exits 0 after SkipWithError. No timing thresholds.
# Usage: bench/micro_smoke.sh PATH/TO/topicdb_micro_bench
set -euo pipefail
bin=${1:?usage: micro_smoke.sh TOPICDB_MICRO_BENCH}
out=$("$bin" --benchmark_min_time=0.001 2>&1) || { echo "$out"; echo "micro_smoke: exit $?" >&2; exit 1; }
status=0
if grep -q "ERROR OCCURRED" <<<"$out"; then
  grep "ERROR OCCURRED" <<<"$out" >&2
  status=1
fi
for name in BM_DecodePublishV311 BM_DecodePublishV5 BM_EncodePublishV311 BM_EncodePublishV5 \
            BM_TopicTreeMatch/100000 BM_TopicTreeFanInMatch/100000 \
            BM_TopicTreeSubscribeUnsubscribe/100000; do
  if ! grep -q "^$name " <<<"$out"; then
    echo "micro_smoke: $name did not run" >&2
    status=1
  fi
done
exit "$status"
