#!/usr/bin/env bash
# CTest smoke test of the load tool: starts the real broker on a free port, runs
# `topicdb_load --smoke` (every scenario, tiny counts) against it twice, with and without
# --no-coalesce, then the $DB scenarios (db, db_scale) once, and passes if the tool exits 0
# every time. No performance thresholds.
# Usage: bench/smoke.sh PATH/TO/topicdb PATH/TO/topicdb_load
set -euo pipefail

topicdb=${1:?usage: smoke.sh TOPICDB TOPICDB_LOAD}
load=${2:?usage: smoke.sh TOPICDB TOPICDB_LOAD}

work=$(mktemp -d /tmp/topicdb-bench-smoke.XXXXXX)
broker_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$broker_pid" ]] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# idle_memory opens a few hundred connections: make sure both processes may.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

"$topicdb" serve --listen 127.0.0.1:0 --data-dir "$work/data" --log-level warn \
  >"$work/stdout" 2>"$work/stderr" &
broker_pid=$!

# The broker prints `topicdb ready listeners=HOST:PORT data_dir=DIR` once it listens.
port=""
for _ in $(seq 100); do
  if line=$(grep -m1 '^topicdb ready ' "$work/stdout" 2>/dev/null); then
    listener=${line#*listeners=}
    listener=${listener%% *}
    listener=${listener%%,*}
    port=${listener##*:}
    break
  fi
  if ! kill -0 "$broker_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "smoke: the broker did not become ready" >&2
  cat "$work/stderr" >&2
  exit 1
fi

# Both I/O modes of the tool: coalesced (the default) and one syscall per libmosquitto call.
status=0
timeout 50 "$load" --smoke --host 127.0.0.1 --port "$port" --broker-pid "$broker_pid" \
  --timeout 15 || status=$?
if [[ $status -eq 0 ]]; then
  timeout 50 "$load" --smoke --no-coalesce --host 127.0.0.1 --port "$port" \
    --broker-pid "$broker_pid" --timeout 15 || status=$?
fi
if [[ $status -eq 0 ]]; then
  timeout 50 "$load" --smoke --scenario db,db_scale --host 127.0.0.1 --port "$port" \
    --broker-pid "$broker_pid" --timeout 15 || status=$?
fi
if ! kill -0 "$broker_pid" 2>/dev/null; then
  echo "smoke: the broker died during the run" >&2
  cat "$work/stderr" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "smoke: topicdb_load exited with $status; broker log:" >&2
  tail -n 50 "$work/stderr" >&2
fi
exit "$status"
