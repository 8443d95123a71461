#!/usr/bin/env python3
"""Summarizes bench/compare.sh rounds into docs/benchmarks.md.

Reads RESULTS/round{N}_{topicdb,mosquitto}.txt (one topicdb_load line per scenario) and
writes a markdown report: the machine, the command, per metric the median and min-max of
each broker and their ratio, and the targets of the performance issue, each met or not.
A round that lost a message (or failed) counts as zero for a higher-is-better metric and as
a failure (infinitely bad) for a lower-is-better one.
"""
import argparse
import datetime
import math
import os
import platform
import re
import statistics
import subprocess
import sys

from summarize_db import db_section
from summarize_tls import tls_section

BROKERS = ("topicdb", "mosquitto")

# scenario, field, label, better
METRICS = [
    ("fanin_qos0", "rate", "messages/s", "high"),
    ("fanin_qos0", "broker_cpu_per_1k", "broker CPU s / 1k messages", "low"),
    ("fanin_qos1", "rate", "messages/s", "high"),
    ("fanin_qos1", "broker_cpu_per_1k", "broker CPU s / 1k messages", "low"),
    ("fanout_qos0", "rate", "deliveries/s", "high"),
    ("fanout_qos0", "broker_cpu_per_1k", "broker CPU s / 1k deliveries", "low"),
    ("fanout_qos1", "rate", "deliveries/s", "high"),
    ("fanout_qos1", "broker_cpu_per_1k", "broker CPU s / 1k deliveries", "low"),
    ("latency", "p50_us", "p50 latency µs (5,000 msg/s)", "low"),
    ("latency", "p99_us", "p99 latency µs (5,000 msg/s)", "low"),
    ("latency", "broker_cpu_per_1k", "broker CPU s / 1k messages", "low"),
    ("connect_rate", "rate", "connects/s (sequential)", "high"),
    ("connect_rate", "p99_us", "p99 CONNECT→CONNACK µs", "low"),
    ("idle_memory", "bytes_per_conn", "broker RSS bytes / idle connection", "low"),
    ("fanin_with_100k_subs", "rate", "messages/s with 100k other subs", "high"),
    ("fanin_with_100k_subs", "rate_no_subs", "messages/s without them", "high"),
    ("fanin_with_100k_subs", "rate_ratio", "with / without", "high"),
    ("fanin_with_100k_subs", "broker_cpu_per_1k", "broker CPU s / 1k messages (with subs)", "low"),
]


def parse_line(line):
    fields = {}
    for token in line.split():
        if "=" in token:
            key, value = token.split("=", 1)
            fields[key] = value
    return fields


def load(results, rounds):
    """Returns {broker: {scenario: [fields of round 1, round 2, ...]}}."""
    data = {b: {} for b in BROKERS}
    for broker in BROKERS:
        for r in range(1, rounds + 1):
            path = os.path.join(results, f"round{r}_{broker}.txt")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                for line in f:
                    if line.startswith("scenario="):
                        fields = parse_line(line)
                        fields["round"] = r
                        data[broker].setdefault(fields["scenario"], []).append(fields)
    return data


def round_ok(fields):
    return (fields.get("status") == "ok" and fields.get("lost") == "0"
            and "broker_died" not in fields)


def value(fields, field, better):
    """The round's value of `field`, with a failed round counting as zero / infinitely bad."""
    bad = 0.0 if better == "high" else math.inf
    if not round_ok(fields):
        return bad
    try:
        v = float(fields.get(field, "na"))
    except ValueError:
        return bad
    return v


def summary(rounds_fields, field, better):
    values = [value(f, field, better) for f in rounds_fields]
    if not values:
        return None
    return statistics.median(values), min(values), max(values), values


def fmt(v):
    if v is None:
        return "–"
    if math.isinf(v):
        return "fail"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a >= 0.01:
        return f"{v:.3f}"
    return f"{v:.5f}"


def cell(s):
    if s is None:
        return "–"
    med, lo, hi, _ = s
    return f"{fmt(med)} [{fmt(lo)}–{fmt(hi)}]"


def ratio(t, m):
    if t is None or m is None:
        return None
    a, b = t[0], m[0]
    if math.isinf(a) or math.isinf(b) or b == 0:
        return None
    return a / b


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "memory": mem,
    }


def git_commit(root):
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--command", default="bench/compare.sh")
    ap.add_argument("--mosquitto-version", default="unknown")
    ap.add_argument("--elapsed", default="?")
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    args = ap.parse_args()

    data = load(args.results, args.rounds)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    m = machine()
    out = []
    w = out.append
    w("# Benchmarks: TopicDB vs mosquitto")
    w("")
    w("Generated by `bench/compare.sh` (do not edit by hand: rerun it). "
      "How the numbers are made: see *Method* below.")
    w("")
    w("## Machine and run")
    w("")
    w(f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, "
      f"TopicDB commit {git_commit(root)} (plus uncommitted changes, if any)")
    w(f"- CPUs: {m['nproc']} × {m['cpu']}; memory {m['memory']}; kernel {m['kernel']}")
    w(f"- mosquitto {args.mosquitto_version} (Debian package), config `bench/mosquitto.conf`; "
      "TopicDB in its default configuration (`topicdb serve --listen 127.0.0.1:0 --data-dir TMP`)")
    w(f"- Command: `{args.command}` — {args.rounds} rounds, {args.elapsed} s in all")
    w(f"- Load average before / after: {args.load_before} / {args.load_after} "
      "(other processes on the machine disturb the numbers)")
    busy = [float(f["machine_busy_pct"]) for b in BROKERS for rows in data[b].values()
            for f in rows if f.get("machine_busy_pct", "").replace(".", "").isdigit()]
    if busy:
        w(f"- CPU use by other processes just before each run (% of all CPUs): median "
          f"{statistics.median(busy):.0f}%, max {max(busy):.0f}% (the script waits up to 6 s "
          "for < 25%)")
    w("")
    w("## Results")
    w("")
    w(f"Median of {args.rounds} rounds [min–max]. A round that lost a message or failed counts "
      "as 0 (higher-is-better metrics) or *fail* (lower-is-better). Ratio = TopicDB / mosquitto.")
    w("")
    w("| scenario | metric | better | TopicDB | mosquitto | ratio |")
    w("| --- | --- | --- | --- | --- | --- |")
    summaries = {}
    for scenario, field, label, better in METRICS:
        t = summary(data["topicdb"].get(scenario, []), field, better)
        mo = summary(data["mosquitto"].get(scenario, []), field, better)
        summaries[(scenario, field)] = (t, mo)
        if t is None and mo is None:
            continue
        r = ratio(t, mo)
        w(f"| {scenario} | {label} | {'higher' if better == 'high' else 'lower'} | {cell(t)} | "
          f"{cell(mo)} | {fmt(r) + '×' if r is not None else '–'} |")
    w("")

    # Whether the load tool itself was the limit: its CPU time against the wall time.
    w("### Load generator CPU")
    w("")
    w("The load tool runs on the same machine (publishers in one process, subscribers in "
      "`--sub-procs` others; tool CPU counts them all). When its CPU seconds approach the wall seconds (or the sum of tool and "
      "broker CPU approaches wall seconds × CPUs) the machine, not the broker, limits the "
      "measured rate for both brokers; then the broker CPU per 1k messages is the better "
      "comparison.")
    w("")
    w("| scenario | TopicDB: seconds / tool CPU s / broker CPU s | "
      "mosquitto: seconds / tool CPU s / broker CPU s |")
    w("| --- | --- | --- |")
    scen_order = []
    for s, *_ in METRICS:
        if s not in scen_order:
            scen_order.append(s)
    for scenario in scen_order:
        cells = []
        for broker in BROKERS:
            rows = data[broker].get(scenario, [])
            if not rows:
                cells.append("–")
                continue

            def med(key):
                vals = []
                for f in rows:
                    try:
                        vals.append(float(f.get(key, "na")))
                    except ValueError:
                        pass
                return fmt(statistics.median(vals)) if vals else "–"
            cells.append(f"{med('seconds')} / {med('tool_cpu_s')} / {med('broker_cpu_s')}")
        w(f"| {scenario} | {cells[0]} | {cells[1]} |")
    w("")

    # Failed rounds.
    failures = []
    for broker in BROKERS:
        for scenario, rows in sorted(data[broker].items()):
            for f in rows:
                if not round_ok(f):
                    failures.append(f"{broker} round {f['round']} {scenario}: status="
                                    f"{f.get('status')} lost={f.get('lost')}"
                                    f"{' broker died' if 'broker_died' in f else ''}")
    if failures:
        w("### Failed or lossy rounds")
        w("")
        for line in failures:
            w(f"- {line}")
        w("")

    # Targets of the issue.
    def rat(scenario, field):
        t, mo = summaries.get((scenario, field), (None, None))
        return ratio(t, mo)

    def tmed(scenario, field):
        t, _ = summaries.get((scenario, field), (None, None))
        return t[0] if t else None

    def mmed(scenario, field):
        _, mo = summaries.get((scenario, field), (None, None))
        return mo[0] if mo else None

    def mark(ok):
        return "met" if ok else "**not met**"

    targets = []
    r = rat("fanout_qos0", "rate")
    targets.append(("QoS 0 fan-out ≥ 4× mosquitto", f"{fmt(r)}×" if r else "–",
                    r is not None and r >= 4))
    r = rat("fanout_qos1", "rate")
    targets.append(("QoS 1 fan-out ≥ 3× mosquitto", f"{fmt(r)}×" if r else "–",
                    r is not None and r >= 3))
    r0, r1 = rat("fanin_qos0", "rate"), rat("fanin_qos1", "rate")
    targets.append(("fan-in ≥ 1.5× mosquitto (QoS 0 and QoS 1)",
                    f"QoS 0 {fmt(r0)}×, QoS 1 {fmt(r1)}×" if r0 and r1 else "–",
                    r0 is not None and r1 is not None and r0 >= 1.5 and r1 >= 1.5))
    t_rounds = sum(len(v) for v in data["topicdb"].values())
    t_fail = sum(1 for v in data["topicdb"].values() for f in v if not round_ok(f))
    targets.append(("no loss (every TopicDB round)",
                    f"{t_fail} of {t_rounds} rounds lost or failed",
                    t_rounds > 0 and t_fail == 0))
    t, mo = tmed("latency", "p99_us"), mmed("latency", "p99_us")
    targets.append(("p99 latency ≤ mosquitto", f"{fmt(t)} µs vs {fmt(mo)} µs",
                    t is not None and mo is not None and t <= mo))
    t, mo = tmed("idle_memory", "bytes_per_conn"), mmed("idle_memory", "bytes_per_conn")
    targets.append(("memory per connection ≤ mosquitto", f"{fmt(t)} B vs {fmt(mo)} B",
                    t is not None and mo is not None and t <= mo))
    t, mo = tmed("connect_rate", "rate"), mmed("connect_rate", "rate")
    targets.append(("connect rate ≥ mosquitto", f"{fmt(t)}/s vs {fmt(mo)}/s",
                    t is not None and mo is not None and t >= mo))
    t = tmed("fanin_with_100k_subs", "rate_ratio")
    targets.append(("fan-in with 100k subscriptions within 10% of without",
                    f"with/without = {fmt(t)}", t is not None and t >= 0.9))
    w("## Targets")
    w("")
    w("| target | measured (TopicDB medians) | status |")
    w("| --- | --- | --- |")
    for name, measured, ok in targets:
        w(f"| {name} | {measured} | {mark(ok)} |")
    w("")

    for line in db_section(args.results, args.rounds, fmt):
        w(line)
    for line in tls_section(args.results, args.rounds, fmt):
        w(line)

    w("## Method")
    w("")
    w("- `topicdb_load` (bench/load/) drives libmosquitto clients through its external-loop "
      "API from epoll loops, MQTT 3.1.1, TCP_NODELAY, over 127.0.0.1: publishers in one "
      "process, the subscribers of the throughput scenarios in `--sub-procs` more (see the "
      "command above). "
      "Unless the tool flags say `--no-coalesce`, the tool gathers libmosquitto's socket "
      "I/O: one `recv` of up to 64 KiB serves its three reads per packet, and its writes "
      "(PUBACKs included) go out once per loop turn; the same tool drives both brokers "
      "(see bench/README.md). "
      "Each broker is started fresh for every scenario of every round, the broker order "
      "alternates between rounds, and every throughput run is preceded by an unmeasured "
      "warm-up of a tenth of its messages.")
    w("- fanin_qos0 / fanin_qos1: 10 publishers → 1 subscriber (`bench/fanin/+/data`), 64-byte "
      "payloads, 400,000 / 200,000 messages; rate = messages received / time from the first "
      "publish to the last delivery.")
    w("- fanout_qos0 / fanout_qos1: 1 publisher → 50 subscribers, 10,000 / 5,000 messages; "
      "rate = deliveries / time to the last delivery.")
    w("- Flow control: a QoS 0 publisher publishes only while its socket takes data, a QoS 1 "
      "publisher keeps at most 64 messages unacknowledged, and all publishers stay at most "
      "1,000 messages ahead of the slowest subscriber, so broker queues stay short and any "
      "loss is the broker's. A phase with no progress for 5 s, or longer than 60 s, ends with "
      "the missing messages counted as lost.")
    w("- latency: 1 publisher → 1 subscriber, QoS 0, 5,000 msg/s for 5 s; the payload carries "
      "the send time (same clock); the first 2% are not sampled.")
    pinned = ""
    if "connect_rate" in args.command.partition("pinned")[2]:
        pinned = (", with the broker pinned to CPU 0 and the tool to CPU 1 (`taskset`, both "
                  "brokers alike): unpinned, where the scheduler places the two processes "
                  "changes this chain of round trips threefold between runs (same CPU "
                  "~20k/s, different CPUs ~7k/s), for either broker")
    w("- connect_rate: 2,000 sequential CONNECT → CONNACK → DISCONNECT, a new client each "
      f"time{pinned}.")
    w("- idle_memory: broker VmRSS before and after opening 10,000 idle connections "
      "(at most 40 handshakes in flight per tool process), divided by the connections.")
    w("- fanin_with_100k_subs: fanin_qos0 without, then 100 connections subscribe 1,000 "
      "filters each (exact, `+` and `#` filters sharing the published topics' first levels, "
      "none matching; `bench/fanin_filters.h`), fanin_qos0 twice with them, then the holders "
      "disconnect and fanin_qos0 runs once more without (A B B A, so a drift during the "
      "scenario weighs on both sides); each rate is over its two runs and `with / without` "
      "is their ratio.")
    w("- Broker CPU: utime+stime of the broker process from /proc/PID/stat over the measured "
      "phase (10 ms resolution).")
    w("- Raw output of every round: `bench/results/latest/` (round*_BROKER.txt).")
    w("")
    # What bounds each scenario comes from profiling, not from this run: it is kept by hand
    # in bench/analysis.md and appended here so the report stays one generated file.
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            w(f.read().rstrip("\n"))
        w("")
    text = "\n".join(out)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
