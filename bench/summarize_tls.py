"""The TLS part of docs/benchmarks.md: full-handshake client visits per second against
TopicDB and mosquitto with the same certificate (bench/compare.sh writes
RESULTS/round{N}_{broker}_tls.txt, one topicdb_tls_connect line each). Used by summarize.py."""
import os
import statistics

BROKERS = ("topicdb", "mosquitto")
# field, label, better
TLS_METRICS = [
    ("connects_per_s", "TLS connects/s", "high"),
    ("p50_ms", "connect p50 ms", "low"),
    ("p99_ms", "connect p99 ms", "low"),
    ("broker_cpu_ms_per_connect", "broker CPU ms / connect", "low"),
]


def _parse(line):
    return dict(t.split("=", 1) for t in line.split() if "=" in t)


def load_tls(results, rounds):
    """{broker: [fields of each round's line]}"""
    data = {b: [] for b in BROKERS}
    for r in range(1, rounds + 1):
        for broker in BROKERS:
            path = os.path.join(results, f"round{r}_{broker}_tls.txt")
            if not os.path.exists(path):
                continue
            with open(path) as f:
                for line in f:
                    if line.startswith("scenario=tls_connect"):
                        data[broker].append(_parse(line))
    return data


def _values(rows, field, better):
    out = []
    for fields in rows:
        ok = fields.get("status") == "ok" and "broker_died" not in fields
        try:
            out.append(float(fields[field]) if ok else None)
        except (KeyError, ValueError):
            out.append(None)
    bad = 0.0 if better == "high" else float("inf")
    return [bad if v is None else v for v in out]


def tls_section(results, rounds, fmt):
    data = load_tls(results, rounds)
    if not any(data.values()):
        return
    yield "## TLS handshakes"
    yield ""
    sample = next((f for rows in data.values() for f in rows if f.get("status") == "ok"), {})
    seconds = f"{float(sample['seconds']):.0f}" if "seconds" in sample else "?"
    pinned = (", broker pinned to CPU 0 and the tool to CPU 1" if sample.get("pinned") == "1"
              else "")
    yield ("Client visits per second over TLS, each a TCP connect, a full handshake (no "
           "resumption; the client verifies the server certificate), MQTT 3.1.1 CONNECT → "
           "CONNACK → DISCONNECT and close, one client at a time (`bench/tls_connect/`, "
           f"{seconds} s per broker and round{pinned}). Both brokers use the same certificate and key (EC P-256, "
           "signed by a CA made for the run with the openssl CLI) and OpenSSL's defaults; "
           f"negotiated: {sample.get('protocol', '?')} {sample.get('cipher', '?')}. "
           f"Median of {rounds} rounds [min–max]; ratio = TopicDB / mosquitto.")
    yield ""
    yield "| metric | better | TopicDB | mosquitto | ratio |"
    yield "| --- | --- | --- | --- | --- |"
    for field, label, better in TLS_METRICS:
        cells = []
        medians = []
        for broker in BROKERS:
            vals = _values(data[broker], field, better)
            if not vals:
                cells.append("n/a")
                medians.append(None)
                continue
            m = statistics.median(vals)
            medians.append(m)
            cells.append(f"{fmt(m)} [{fmt(min(vals))}–{fmt(max(vals))}]")
        t, q = medians
        ratio = f"{t / q:.2f}×" if t is not None and q not in (None, 0) else "n/a"
        yield f"| {label} | {better}er | {cells[0]} | {cells[1]} | {ratio} |"
    yield ""
