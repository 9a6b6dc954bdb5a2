#!/usr/bin/env python3
"""Prints the lastbyte/baseline table from Google Benchmark JSON output.

    python3 bench/ratios.py results.json [memory.json ...]

Benchmark names are group/backend/kind/suite/size. For every lastbyte entry
the baselines with the same group, suite and size are looked up: kind
"direct" of the same backend (the library used directly), and for the
loopback groups "blocking" and "asio" (OpenSSL). Time ratios use the median
of the repetitions (real time for loopback, CPU time otherwise); a ratio of
1.05 means lastbyte takes 5 % longer. Memory counters are compared directly.
Request/response exchanges and their heap get a table per kind (lastbyte,
lastbyte_kept, direct, direct_release_buffers), and every throughput pipe
its share of the AEAD ceiling: its bytes/s over the bytes/s of the library's
own cipher sealing and opening the same bytes (group "aead").
"""
import json
import statistics
import sys
from collections import defaultdict

BASELINES = ("direct", "blocking", "asio")
KINDS = ("direct", "direct_release_buffers", "lastbyte", "lastbyte_kept")
UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
COUNTERS = ("bytes_per_idle_pair", "peak_extra_bytes", "allocations")


def load(paths):
    runs = defaultdict(list)
    context = None
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        context = context or doc.get("context", {})
        for b in doc["benchmarks"]:
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            name = b.get("run_name", b["name"]).replace("/iterations:1", "").replace("/real_time", "")
            runs[name].append(b)
    return runs, context


def median(entries, key):
    values = [e[key] for e in entries if key in e]
    return statistics.median(values) if values else None


def split(name):
    parts = name.split("/")
    if len(parts) != 5:
        return None
    group, backend, kind, suite, size = parts
    return group, backend, kind, suite, size


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def cpu_ns(entries):
    return median(entries, "cpu_time") * UNIT_NS[entries[0].get("time_unit", "ns")]


def per_kind_table(runs, index, group, title, cell):
    """One row per backend/suite/size of `group`, one column per kind:
    cell(entries) formats the median of that kind's runs."""
    keys = [k for k in index if k[0] == group]
    if not keys:
        return
    print()
    print(f"| {title} | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    for backend, suite, size in sorted({(k[1], k[3], k[4]) for k in keys}, key=lambda r: (r[0], r[1], int(r[2]))):
        cells = []
        for kind in KINDS:
            key = (group, backend, kind, suite, size)
            cells.append(cell(runs[index[key]]) if key in index else "")
        print(f"| {backend}/{suite}/{size} | " + " | ".join(cells) + " |")


def aead_shares(runs, index):
    """Each throughput pipe's bytes/s as a share of its library's AEAD alone."""
    rows = sorted((k for k in index if k[0] == "throughput"), key=lambda k: (k[1], k[3], int(k[4]), k[2]))
    rows = [k for k in rows if ("aead", k[1], "cipher", k[3], k[4]) in index]
    if not rows:
        return
    print()
    print("| share of AEAD ceiling | kind | pipe bytes/s | AEAD seal+open bytes/s | share |")
    print("|---|---|---|---|---|")
    for key in rows:
        ceiling = runs[index[("aead", key[1], "cipher", key[3], key[4])]]
        pipe = median(runs[index[key]], "bytes_per_second")
        limit = median(ceiling, "bytes_per_second")
        print(f"| {key[1]}/{key[3]}/{key[4]} | {key[2]} | {pipe / 1e6:,.0f} MB/s | {limit / 1e6:,.0f} MB/s | "
              f"{pipe / limit:.1%} |")


def main(paths):
    runs, context = load(paths)
    index = {split(n): n for n in runs if split(n)}
    print(f"# {context.get('date', '')}  host: {context.get('host_name', '')}  "
          f"CPUs: {context.get('num_cpus', '')}  {context.get('lastbyte.backends', '')}")
    print()
    print("| benchmark | lastbyte | baseline | baseline value | ratio |")
    print("|---|---|---|---|---|")
    for key in sorted(k for k in index if k[2] == "lastbyte" and k[0] not in ("memory_idle", "memory_exchange")):
        group, backend, _, suite, size = key
        ours = runs[index[key]]
        candidates = [(group, backend, "direct", suite, size)]
        if group.startswith("tcp_"):
            candidates = [(group, "openssl", kind, suite, size) for kind in ("blocking", "asio")]
        for base in candidates:
            if base not in index:
                continue
            theirs = runs[index[base]]
            label = f"{group}/{backend}/{suite}/{size}"
            counters = [c for c in COUNTERS if c in ours[0]]
            if counters:
                for c in counters:
                    a, b = median(ours, c), median(theirs, c)
                    ratio = f"{a / b:.2f}" if b else "-"
                    print(f"| {label} {c} | {a:,.0f} | {base[1]} {base[2]} | {b:,.0f} | {ratio} |")
                continue
            key_time = "real_time" if group.startswith("tcp_") else "cpu_time"
            a = median(ours, key_time) * UNIT_NS[ours[0].get("time_unit", "ns")]
            b = median(theirs, key_time) * UNIT_NS[theirs[0].get("time_unit", "ns")]
            print(f"| {label} | {fmt_time(a)} | {base[1]} {base[2]} | {fmt_time(b)} | {a / b:.3f} |")
    per_kind_table(runs, index, "request_response", "CPU time per exchange (request 100 B)",
                   lambda entries: fmt_time(cpu_ns(entries)))
    per_kind_table(runs, index, "memory_exchange", "pair's heap peak during exchanges, bytes; allocations per exchange",
                   lambda entries: f"{median(entries, 'pair_peak_bytes'):,.0f}; "
                                   f"{median(entries, 'allocations_per_exchange'):.1f}")
    aead_shares(runs, index)
    idle = sorted(k for k in index if k[0] == "memory_idle")
    if idle:
        kinds = ["direct", "direct_release_buffers", "lastbyte", "lastbyte_kept"]
        print()
        print("| heap bytes per idle connection pair | " + " | ".join(kinds) + " | lastbyte - best direct, per connection |")
        print("|---|" + "---|" * (len(kinds) + 1))
        for backend, suite in sorted({(k[1], k[3]) for k in idle}):
            cells, values = [], {}
            for kind in kinds:
                key = ("memory_idle", backend, kind, suite, "pair")
                if key in index:
                    values[kind] = median(runs[index[key]], "bytes_per_idle_pair")
                cells.append(f"{values[kind]:,.0f}" if kind in values else "-")
            direct = [values[k] for k in ("direct", "direct_release_buffers") if k in values]
            extra = f"{(values['lastbyte'] - min(direct)) / 2:,.0f}" if direct and "lastbyte" in values else "-"
            print(f"| {backend}/{suite} | " + " | ".join(cells) + f" | {extra} |")
    records = sorted(k for k in index if k[0] in ("memory_records", "memory_transfer"))
    if records:
        print()
        print("| allocations | kind | 1 KiB records one by one, per record | one 16 KiB transfer |")
        print("|---|---|---|---|")
        for backend, kind, suite in sorted({(k[1], k[2], k[3]) for k in records}):
            one = index.get(("memory_records", backend, kind, suite, "1024"))
            big = index.get(("memory_transfer", backend, kind, suite, "16384"))
            a = f"{median(runs[one], 'allocations_per_record'):.2f}" if one is not None else "-"
            b = f"{median(runs[big], 'allocations'):.0f}" if big is not None else "-"
            print(f"| {backend}/{suite} | {kind} | {a} | {b} |")
    drains = sorted(k for k in index if k[0] == "drain")
    if drains:
        print()
        print("| drain (records buffered at EOF, read to the verdict) | bytes | median time | bytes/s |")
        print("|---|---|---|---|")
        for key in sorted(drains, key=lambda k: (k[1], k[3], int(k[4]))):
            t = cpu_ns(runs[index[key]])
            print(f"| {key[1]}/{key[3]} | {int(key[4]):,} | {fmt_time(t)} | {int(key[4]) / t * 1e9 / 1e6:,.0f} MB/s |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
