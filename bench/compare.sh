#!/usr/bin/env bash
# Compares TopicDB with mosquitto under bench's load tool and writes docs/benchmarks.md.
#
#   bench/compare.sh [--rounds N] [--scenarios "fanin_qos0 latency ..."] [--no-docs]
#                    [--results DIR] [--db-scenarios "db db_scale db_constraints"] [--db-only]
#                    [--tls-seconds N]
#
# Builds topicdb and topicdb_load (RelWithDebInfo) if needed, installs Debian's mosquitto
# package if it is missing, then for every round and scenario starts each broker fresh on
# its own free port (TopicDB in its default configuration, mosquitto with
# bench/mosquitto.conf), runs `topicdb_load --scenario S` against it and stops it. The
# broker order alternates between rounds. Then the $DB scenarios (TopicDB only: mosquitto has
# no $DB) run against a fresh TopicDB each, followed in the same round by
# topicdb_sqlite_ceiling (raw SQLite on the store's tables: the ceiling they are compared
# with); --db-scenarios "" skips them, --db-only runs only them. Then, per round, the TLS
# handshake rate: both brokers with a TLS listener on one certificate made with the openssl
# CLI, topicdb_tls_connect for --tls-seconds (10; 0 skips it) against each, both rates and
# their ratio printed. Raw output goes to bench/results/latest/ (or
# --results DIR), the summary (medians, min-max, ratios, targets) to docs/benchmarks.md
# (with --no-docs it is printed instead).
# Environment: BUILD_DIR (default ./build), TOPICDB_LOAD_ARGS (extra tool flags),
# TOPICDB_PIN_SCENARIOS (scenarios run with broker and tool pinned to CPUs 0 and 1; default
# connect_rate, empty for none).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
rounds=3
scenarios="fanin_qos0 fanin_qos1 fanout_qos0 fanout_qos1 latency connect_rate idle_memory"
scenarios+=" fanin_with_100k_subs"
db_scenarios="db db_scale db_constraints"
tls_seconds=10
write_docs=1
results=$root/bench/results/latest
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --no-docs) write_docs=0; shift ;;
    --results) results=$2; shift 2 ;;
    --db-scenarios) db_scenarios=$2; shift 2 ;;
    --db-only) scenarios=""; tls_seconds=0; shift ;;
    --tls-seconds) tls_seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "compare: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Subscribers get their own tool process(es): one on small machines, where a second would
# take CPU from the broker, two from 4 CPUs up (extra TOPICDB_LOAD_ARGS come after, so a
# --sub-procs there wins).
sub_procs=1
if (( $(nproc) >= 4 )); then sub_procs=2; fi
load_args="--sub-procs $sub_procs ${TOPICDB_LOAD_ARGS:-}"
load_args=${load_args% }
# Scenarios that are one long chain of round trips between one client and the broker run
# with the broker on CPU 0 and the tool on CPU 1, for both brokers alike: otherwise where the
# scheduler happens to place the two processes (same CPU or not, migrating or not) changes
# their rate up to threefold from one run to the next and drowns the brokers' difference.
pin_scenarios=${TOPICDB_PIN_SCENARIOS-connect_rate}
if (( $(nproc) < 2 )) || ! command -v taskset >/dev/null; then pin_scenarios=""; fi
command_line="bench/compare.sh --rounds $rounds --scenarios \"$scenarios\""
command_line+=" --db-scenarios \"$db_scenarios\" --tls-seconds $tls_seconds; tool flags: $load_args"
if [[ -n "$pin_scenarios" ]]; then
  command_line+="; pinned (broker CPU 0, tool CPU 1): $pin_scenarios"
fi

log() { echo "compare: $*" >&2; }

# --- build ------------------------------------------------------------------------------------
if [[ ! -f "$build/build.ninja" ]] || \
   ! grep -q '^CMAKE_BUILD_TYPE:STRING=RelWithDebInfo$' "$build/CMakeCache.txt" 2>/dev/null; then
  log "configuring $build (RelWithDebInfo)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building topicdb, topicdb_load, topicdb_sqlite_ceiling and topicdb_tls_connect"
ninja -C "$build" topicdb topicdb_load topicdb_sqlite_ceiling topicdb_tls_connect >/dev/null
topicdb_bin=$build/topicdb
load_bin=$build/bench/topicdb_load
ceiling_bin=$build/bench/topicdb_sqlite_ceiling
tls_bin=$build/bench/topicdb_tls_connect

# --- mosquitto --------------------------------------------------------------------------------
# Installing the package on a systemd machine starts a mosquitto service on 1883: this script
# never uses it; it runs its own mosquitto on a free port.
find_mosquitto() {
  command -v mosquitto 2>/dev/null && return
  if [[ -x /usr/sbin/mosquitto ]]; then echo /usr/sbin/mosquitto; fi
}
mosquitto_bin=$(find_mosquitto)
if [[ -z "$mosquitto_bin" ]]; then
  log "installing Debian's mosquitto package"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    mosquitto >/dev/null
  mosquitto_bin=$(find_mosquitto)
  [[ -n "$mosquitto_bin" ]] || { log "mosquitto is still missing"; exit 1; }
fi
mosquitto_version=$( ("$mosquitto_bin" -h 2>/dev/null || true) |
                     sed -n 's/^mosquitto version \([^ ]*\).*/\1/p' | head -1)

# --- limits -----------------------------------------------------------------------------------
# idle_memory holds 10,000 connections: the tool needs 3 descriptors per client and each broker
# one per connection.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "open files limit: $(ulimit -n)"

# --- brokers ----------------------------------------------------------------------------------
work=$(mktemp -d /tmp/topicdb-compare.XXXXXX)
broker_pid=""
broker_port=""
stop_broker() {
  if [[ -n "$broker_pid" ]] && kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$broker_pid" 2>/dev/null || true
  fi
  if [[ -n "$broker_pid" ]]; then wait "$broker_pid" 2>/dev/null || true; fi
  broker_pid=""
}
cleanup() { stop_broker; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (at most 10 s) for the ready line of the topicdb started in DIR and sets broker_port
# to the port of the first listener its KEY= field names (listeners, tls, ws, ...).
await_topicdb_port() {
  local dir=$1 key=$2
  broker_port=""
  for _ in $(seq 200); do
    local line
    if line=$(grep -m1 '^topicdb ready ' "$dir/stdout" 2>/dev/null); then
      local listener=${line#* "$key"=}
      listener=${listener%% *}
      listener=${listener%%,*}
      broker_port=${listener##*:}
      return 0
    fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.05
  done
  log "topicdb did not become ready:"; cat "$dir/stderr" >&2
  return 1
}

start_topicdb() {
  local dir=$work/topicdb-$1
  mkdir -p "$dir"
  "${pin_broker[@]}" "$topicdb_bin" serve --listen 127.0.0.1:0 --data-dir "$dir/data" \
    >"$dir/stdout" 2>"$dir/stderr" &
  broker_pid=$!
  await_topicdb_port "$dir" listeners
}

start_mosquitto() {
  local dir=$work/mosquitto-$1
  mkdir -p "$dir"
  broker_port=$(free_port)
  sed "s/@PORT@/$broker_port/" "$root/bench/mosquitto.conf" >"$dir/mosquitto.conf"
  "${pin_broker[@]}" "$mosquitto_bin" -c "$dir/mosquitto.conf" >"$dir/stdout" 2>"$dir/stderr" &
  broker_pid=$!
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null; then return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.05
  done
  log "mosquitto did not start:"; cat "$dir/stderr" >&2
  return 1
}

# --- other load -------------------------------------------------------------------------------
# Other processes competing for the CPUs distort every number; before each run wait (up to
# 6 s, so a busy machine does not stretch the run past ~10 minutes) for the machine to be
# quiet, and record how busy it was.
cpu_busy_pct() {
  local a1 b1 c1 d1 e1 f1 g1 h1 a2 b2 c2 d2 e2 f2 g2 h2 _rest
  read -r _ a1 b1 c1 d1 e1 f1 g1 h1 _rest </proc/stat
  sleep 0.5
  read -r _ a2 b2 c2 d2 e2 f2 g2 h2 _rest </proc/stat
  local total=$(( (a2+b2+c2+d2+e2+f2+g2+h2) - (a1+b1+c1+d1+e1+f1+g1+h1) ))
  local idle=$(( (d2+e2) - (d1+e1) ))
  (( total > 0 )) || { echo 0; return; }
  echo $(( 100 * (total - idle) / total ))
}
wait_for_quiet() {
  local busy
  for _ in $(seq 12); do
    busy=$(cpu_busy_pct)
    (( busy < 25 )) && break
  done
  echo "$busy"
}

# --- rounds -----------------------------------------------------------------------------------
mkdir -p "$results"
rm -f "$results"/round*_*.txt "$results"/round*_*.db "$results"/round*_*.stderr "$results"/broker_*.log
started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "results in $results"
# shellcheck disable=SC2086  # $load_args is split into words on purpose
for round in $(seq "$rounds"); do
  if ((round % 2 == 1)); then order="topicdb mosquitto"; else order="mosquitto topicdb"; fi
  for scenario in $scenarios; do
    for broker in $order; do
      out=$results/round${round}_${broker}.txt
      err=$results/round${round}_${broker}.stderr
      tag=${round}-${scenario}
      busy=$(wait_for_quiet)
      pin_broker=(env)
      pin_tool=(env)
      if [[ " $pin_scenarios " == *" $scenario "* ]]; then
        pin_broker=(taskset -c 0)
        pin_tool=(taskset -c 1)
      fi
      if ! "start_$broker" "$tag"; then
        echo "scenario=$scenario status=error lost=na note=broker_did_not_start" >>"$out"
        stop_broker
        continue
      fi
      line=$(timeout 200 "${pin_tool[@]}" "$load_bin" --host 127.0.0.1 --port "$broker_port" \
               --scenario "$scenario" --broker-pid "$broker_pid" $load_args \
               2>>"$err" | grep "^scenario=" || true)
      if [[ -z "$line" ]]; then line="scenario=$scenario status=error lost=na note=no_output"; fi
      if ! kill -0 "$broker_pid" 2>/dev/null; then line="$line broker_died=1"; fi
      line="$line machine_busy_pct=$busy"
      echo "$line" >>"$out"
      log "round $round $broker: $line"
      stop_broker
      # Keep a broker's log only when it has something to say (warnings, errors).
      if grep -qiE ' (warn|error)|^[0-9]+: (Error|Warning)' "$work/$broker-$tag/stderr" \
           2>/dev/null; then
        cp "$work/$broker-$tag/stderr" "$results/broker_${broker}_${tag}.log"
      fi
    done
  done
done
# --- $DB scenarios ---------------------------------------------------------------------------
# TopicDB alone; every line the tool prints (one per phase) goes to roundN_topicdb_db.txt,
# then the SQLite ceiling of the same round (same record count, same durability: FULL).
db_records=200000
for round in $(seq "$rounds"); do
  [[ -n "$db_scenarios" ]] || break
  out=$results/round${round}_topicdb_db.txt
  err=$results/round${round}_topicdb_db.stderr
  for scenario in $db_scenarios; do
    tag=${round}-${scenario}
    busy=$(wait_for_quiet)
    pin_broker=(env)
    pin_tool=(env)
    if ! start_topicdb "$tag"; then
      echo "scenario=$scenario status=error note=broker_did_not_start" >>"$out"
      stop_broker
      continue
    fi
    lines=$(timeout 900 "$load_bin" --host 127.0.0.1 --port "$broker_port" \
              --scenario "$scenario" --broker-pid "$broker_pid" 2>>"$err" |
            grep "^scenario=" || true)
    if [[ -z "$lines" ]]; then lines="scenario=$scenario status=error note=no_output"; fi
    died=""
    if ! kill -0 "$broker_pid" 2>/dev/null; then died=" broker_died=1"; fi
    while IFS= read -r line; do
      echo "$line$died machine_busy_pct=$busy" >>"$out"
      log "round $round db: $line$died"
    done <<<"$lines"
    stop_broker
    if grep -qiE ' (warn|error)' "$work/topicdb-$tag/stderr" 2>/dev/null; then
      cp "$work/topicdb-$tag/stderr" "$results/broker_topicdb_${tag}.log"
    fi
  done
  mkdir -p "$work/ceiling-$round"
  "$ceiling_bin" --records "$db_records" --dir "$work/ceiling-$round" 2>>"$err" |
    grep "^scenario=" >>"$out" || echo "scenario=sqlite_insert status=error" >>"$out"
  log "round $round ceiling: $(tail -2 "$out" | tr '\n' ' ')"
  rm -rf "$work/ceiling-$round"
done
# --- TLS handshakes ---------------------------------------------------------------------------
# One certificate and key for both brokers (EC P-256, signed by a CA made here, SAN
# 127.0.0.1), so the handshake costs the same crypto on each side; OpenSSL's defaults
# otherwise. Broker on CPU 0 and tool on CPU 1 as for connect_rate (a chain of round trips).
make_tls_certs() {
  local d=$work/tls
  mkdir -p "$d"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${key[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
    -subj '/CN=TopicDB bench CA' 2>/dev/null &&
  openssl req "${key[@]}" -keyout "$d/server.key" -out "$d/server.csr" -subj '/CN=127.0.0.1' \
    2>/dev/null &&
  echo "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost" >"$d/server.ext" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.crt" -days 2 -extfile "$d/server.ext" 2>/dev/null &&
  # mosquitto started as root drops to its own user before it reads the key: that user must
  # reach and read it (a throwaway key of this run; $work is mktemp's 0700).
  chmod o+x "$work" && chmod 755 "$d" && chmod 644 "$d/server.key"
}
start_topicdb_tls() {
  local dir=$work/topicdb-$1
  mkdir -p "$dir"
  "${pin_broker[@]}" "$topicdb_bin" serve --listen 127.0.0.1:0 --data-dir "$dir/data" \
    --listen-tls 127.0.0.1:0 --tls-cert "$work/tls/server.crt" --tls-key "$work/tls/server.key" \
    >"$dir/stdout" 2>"$dir/stderr" &
  broker_pid=$!
  await_topicdb_port "$dir" tls
}
start_mosquitto_tls() {
  local dir=$work/mosquitto-$1
  mkdir -p "$dir"
  broker_port=$(free_port)
  # certfile/keyfile belong to the listener line before them: the last one, here.
  { sed "s/@PORT@/$broker_port/" "$root/bench/mosquitto.conf"
    echo "certfile $work/tls/server.crt"
    echo "keyfile $work/tls/server.key"; } >"$dir/mosquitto.conf"
  "${pin_broker[@]}" "$mosquitto_bin" -c "$dir/mosquitto.conf" >"$dir/stdout" 2>"$dir/stderr" &
  broker_pid=$!
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$broker_port") 2>/dev/null; then return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.05
  done
  log "mosquitto did not start:"; cat "$dir/stderr" >&2
  return 1
}
median_of() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print 0}'; }
if ((tls_seconds > 0)); then
  if ! make_tls_certs; then
    log "openssl could not make the TLS certificates; TLS section skipped"
    tls_seconds=0
  fi
fi
for round in $(seq "$rounds"); do
  ((tls_seconds > 0)) || break
  if ((round % 2 == 1)); then order="topicdb mosquitto"; else order="mosquitto topicdb"; fi
  for broker in $order; do
    out=$results/round${round}_${broker}_tls.txt
    err=$results/round${round}_${broker}_tls.stderr
    tag=${round}-tls
    busy=$(wait_for_quiet)
    pin_broker=(env)
    pin_tool=(env)
    if [[ -n "$pin_scenarios" ]]; then pin_broker=(taskset -c 0); pin_tool=(taskset -c 1); fi
    if ! "start_${broker}_tls" "$tag"; then
      echo "scenario=tls_connect status=error note=broker_did_not_start" >"$out"
      stop_broker
      continue
    fi
    line=$(timeout $((tls_seconds + 60)) "${pin_tool[@]}" "$tls_bin" --port "$broker_port" \
             --cafile "$work/tls/ca.crt" --seconds "$tls_seconds" --broker-pid "$broker_pid" \
             2>>"$err" |
           grep "^scenario=" || true)
    if [[ -z "$line" ]]; then line="scenario=tls_connect status=error note=no_output"; fi
    if ! kill -0 "$broker_pid" 2>/dev/null; then line="$line broker_died=1"; fi
    pinned=0
    [[ -n "$pin_scenarios" ]] && pinned=1
    echo "$line machine_busy_pct=$busy pinned=$pinned" >"$out"
    log "round $round $broker tls: $line"
    stop_broker
  done
done
if ((tls_seconds > 0)); then
  rate() {
    cat "$results"/round*_"$1"_tls.txt 2>/dev/null |
      sed -n 's/.*status=ok .*connects_per_s=\([0-9.]*\).*/\1/p' | median_of
  }
  topicdb_tls=$(rate topicdb)
  mosquitto_tls=$(rate mosquitto)
  log "TLS connects/s (median of $rounds rounds): TopicDB $topicdb_tls, mosquitto $mosquitto_tls," \
      "ratio $(awk -v t="$topicdb_tls" -v m="$mosquitto_tls" \
                 'BEGIN {if (m > 0) printf "%.2f", t / m; else print "n/a"}')"
fi
find "$results" -name '*.stderr' -empty -delete
elapsed=$(( $(date +%s) - started ))
log "all rounds took ${elapsed}s"

if ((write_docs)); then
  python3 "$root/bench/summarize.py" --results "$results" --out "$root/docs/benchmarks.md" \
    --rounds "$rounds" --command "$command_line" \
    --mosquitto-version "${mosquitto_version:-unknown}" --elapsed "$elapsed" \
    --load-before "$load_before" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)"
  log "wrote docs/benchmarks.md"
else
  python3 "$root/bench/summarize.py" --results "$results" --rounds "$rounds" \
    --mosquitto-version "${mosquitto_version:-unknown}" --command "$command_line"
fi
