"""The $DB part of docs/benchmarks.md: TopicDB's document-store scenarios against the raw
SQLite ceiling measured in the same rounds (bench/compare.sh writes both to
RESULTS/round{N}_topicdb_db.txt). Used by summarize.py."""
import math
import os
import statistics

# scenario, field, label, better, ceiling (scenario, field) or None
DB_METRICS = [
    ("db_create", "rate", "creates/s", "high", ("sqlite_insert", "rate")),
    ("db_create", "p50_us", "create p50 µs (4 × 256 in flight)", "low", None),
    ("db_create", "broker_cpu_per_1k", "broker CPU s / 1k creates", "low", None),
    ("db_read", "rate", "reads/s", "high", ("sqlite_read", "rate")),
    ("db_read", "p50_us", "read p50 µs (4 × 256 in flight)", "low", None),
    ("db_list_indexed", "rate", "indexed lists/s (limit 10)", "high", None),
    ("db_update", "rate", "updates/s", "high", ("sqlite_insert", "rate")),
    ("db_delete", "rate", "deletes/s", "high", ("sqlite_insert", "rate")),
    ("db_events_fanout", "rate", "event deliveries/s (10 watchers)", "high", None),
    ("db_events_fanout", "create_rate", "creates/s while 10 watch", "high", None),
    ("db_scale", "read_p50_small_us", "read p50 µs at 10k records (one at a time)", "low", None),
    ("db_scale", "read_p50_large_us", "read p50 µs at 1M records", "low", None),
    ("db_scale", "list_p50_small_us", "indexed list p50 µs at 10k", "low", None),
    ("db_scale", "list_p50_large_us", "indexed list p50 µs at 1M", "low", None),
    ("db_constraints", "plain_rate", "creates/s, no constraints", "high", None),
    ("db_constraints", "constrained_rate", "creates/s, unique + foreign key", "high", None),
    ("db_constraints", "overhead_pct", "constraint overhead % (same run)", "low", None),
    ("db_cascade_delete", "ms", "cascade delete of 1 parent + 1,000 children, ms", "low", None),
    ("sqlite_insert", "rate", "ceiling: raw SQLite inserts/s (record + change row)", "high", None),
    ("sqlite_read", "rate", "ceiling: raw SQLite point reads/s (one connection)", "high", None),
]


def _parse(line):
    return dict(t.split("=", 1) for t in line.split() if "=" in t)


def load_db(results, rounds):
    data = {}
    for r in range(1, rounds + 1):
        path = os.path.join(results, f"round{r}_topicdb_db.txt")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                if line.startswith("scenario="):
                    fields = _parse(line)
                    fields["round"] = r
                    data.setdefault(fields["scenario"], []).append(fields)
    return data


def _value(fields, field, better):
    bad = 0.0 if better == "high" else math.inf
    if fields.get("status") != "ok" or "broker_died" in fields:
        return bad
    try:
        return float(fields.get(field, "na"))
    except ValueError:
        return bad


def _median(data, scenario, field, better):
    vals = [_value(f, field, better) for f in data.get(scenario, [])]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def db_section(results, rounds, fmt):
    """Markdown lines for the $DB section, or [] when no round ran it."""
    data = load_db(results, rounds)
    if not data:
        return []
    out = []
    w = out.append
    w("## $DB document store (TopicDB only)")
    w("")
    w("MQTT 5 requests (Response Topic + Correlation Data, QoS 0) from 4 clients with 256 "
      "requests in flight each, ~200-byte records with client-chosen ids, default "
      "configuration (`immediate` durability: each group commit is fsynced before its "
      "answers leave). Ceiling = `topicdb_sqlite_ceiling` in the same round: the same tables "
      "and indexes, each record inserted with its change-log row, 1,024 per transaction, "
      "`synchronous=FULL`; point reads on one connection. Median of the rounds [min–max].")
    w("")
    w("| scenario | metric | better | TopicDB | ceiling | ratio to ceiling |")
    w("| --- | --- | --- | --- | --- | --- |")
    med = {}
    for scenario, field, label, better, ceiling in DB_METRICS:
        s = _median(data, scenario, field, better)
        med[(scenario, field)] = s
        if s is None:
            continue
        cell = f"{fmt(s[0])} [{fmt(s[1])}–{fmt(s[2])}]"
        c_cell, r_cell = "–", "–"
        if ceiling:
            c = _median(data, ceiling[0], ceiling[1], "high")
            if c:
                c_cell = fmt(c[0])
                if c[0] and not math.isinf(s[0]):
                    r_cell = f"{s[0] / c[0]:.2f}×"
        w(f"| {scenario} | {label} | {'higher' if better == 'high' else 'lower'} | {cell} | "
          f"{c_cell} | {r_cell} |")
    w("")

    def get(scenario, field):
        s = med.get((scenario, field))
        return s[0] if s else None

    targets = []
    v = get("db_create", "rate")
    targets.append(("creates ≥ 50,000/s", f"{fmt(v)}/s" if v is not None else "–",
                    v is not None and v >= 50000))
    v = get("db_read", "rate")
    targets.append(("reads ≥ 100,000/s", f"{fmt(v)}/s" if v is not None else "–",
                    v is not None and v >= 100000))
    a, b = get("db_scale", "read_p50_small_us"), get("db_scale", "read_p50_large_us")
    ok = a is not None and b is not None and not math.isinf(b) and a > 0 and b / a <= 1.5
    targets.append(("read p50 at 1M within 1.5× of 10k",
                    f"{fmt(b)} µs vs {fmt(a)} µs" if a is not None and b is not None else "–", ok))
    a, b = get("db_scale", "list_p50_small_us"), get("db_scale", "list_p50_large_us")
    ok = a is not None and b is not None and not math.isinf(b) and a > 0 and b / a <= 1.5
    targets.append(("indexed-list p50 at 1M within 1.5× of 10k",
                    f"{fmt(b)} µs vs {fmt(a)} µs" if a is not None and b is not None else "–", ok))
    v = get("db_constraints", "overhead_pct")
    targets.append(("unique + FK constraints cost < 25% of create rate",
                    f"{fmt(v)} %" if v is not None else "–", v is not None and v < 25))
    v = get("db_cascade_delete", "ms")
    targets.append(("cascade delete of 1,000 children < 10 ms (MQDB: 12.6 ms)",
                    f"{fmt(v)} ms" if v is not None else "–", v is not None and v < 10))
    w("### $DB targets")
    w("")
    w("| target | measured (medians) | status |")
    w("| --- | --- | --- |")
    for name, measured, ok in targets:
        w(f"| {name} | {measured} | {'met' if ok else '**not met**'} |")
    w("")
    failures = [f"round {f['round']} {s}: status={f.get('status')}"
                for s, rows in sorted(data.items()) for f in rows
                if f.get("status") != "ok" or "broker_died" in f]
    if failures:
        w("Failed $DB rounds: " + "; ".join(failures))
        w("")
    return out
