#!/usr/bin/env python3
"""Table for bench/run.sh: prints it, and with --docs rewrites the results block of docs/benchmarks.md.

Usage: report.py RESULTS.tsv META.txt [--docs docs/benchmarks.md]

RESULTS.tsv lines (tab separated, written by run.sh):
    target test value bytes requests cpu_s rss_kb errors other_cores
META.txt: key=value lines (date, kernel, cpu, versions, arguments).
"""
import sys

MARK_BEGIN = "<!-- bench/run.sh: forwarder results begin (generated, rerun bench/run.sh to update) -->"
MARK_END = "<!-- bench/run.sh: forwarder results end -->"

TARGET_ORDER = ["direct", "lb-splice", "lb-copy", "haproxy", "nginx"]
TARGET_NAMES = {
    "direct": "direct",
    "lb-splice": "ours splice",
    "lb-copy": "ours copy",
    "haproxy": "HAProxy",
    "nginx": "nginx stream",
}
# The peers that set the "best" a ratio is taken against; direct is a reference, not a peer.
PEERS = ["haproxy", "nginx"]
TESTS = {
    "iperf1": "iperf3 1 stream",
    "iperf4": "iperf3 4 streams",
    "wrk-ka": "wrk keep-alive",
    "wrk-close": "wrk Connection: close",
}


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (9 - len(parts))
            target, test, value, nbytes, requests, cpu_s, rss_kb, errors, other = parts[:9]
            rows[(target, test)] = dict(
                value=float(value) if value else None,
                bytes=int(nbytes) if nbytes else None,
                requests=int(requests) if requests else None,
                cpu_s=float(cpu_s) if cpu_s else None,
                rss_kb=int(rss_kb) if rss_kb else None,
                errors=errors,
                other=float(other) if other else None,
            )
    return rows


def metrics_for(test):
    """(label, higher_is_better, extractor, format) for each metric of a test.

    higher_is_better None: a row shown without ratios (the noise indicator)."""
    def per_gb(r):
        if r["cpu_s"] is None or not r["bytes"]:
            return None
        return r["cpu_s"] / (r["bytes"] / 1e9)

    def per_req(r):
        if r["cpu_s"] is None or not r["requests"]:
            return None
        return r["cpu_s"] / r["requests"] * 1e6

    def rss(r):
        return None if r["rss_kb"] is None else r["rss_kb"] / 1024

    def value(r):
        return r["value"]

    def other(r):
        return r["other"]

    noise = (f"{TESTS[test]}, other processes' CPU, cores (noise)", None, other, "{:.2f}")

    name = TESTS[test]
    if test.startswith("iperf"):
        return [
            (f"{name}, Gbit/s ↑", True, value, "{:.2f}"),
            (f"{name}, proxy CPU s/GB ↓", False, per_gb, "{:.3f}"),
            (f"{name}, proxy peak RSS MiB ↓", False, rss, "{:.1f}"),
            noise,
        ]
    return [
        (f"{name}, req/s ↑", True, value, "{:,.0f}"),
        (f"{name}, proxy CPU µs/req ↓", False, per_req, "{:.1f}"),
        (f"{name}, proxy peak RSS MiB ↓", False, rss, "{:.1f}"),
        noise,
    ]


def build_table(rows):
    targets = [t for t in TARGET_ORDER if any(k[0] == t for k in rows)]
    tests = [t for t in TESTS if any(k[1] == t for k in rows)]
    peers = [p for p in PEERS if p in targets]
    header = ["metric"] + [TARGET_NAMES[t] for t in targets]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(targets)) + "|"]
    for test in tests:
        for label, higher, get, fmt in metrics_for(test):
            vals = {t: (get(rows[(t, test)]) if (t, test) in rows else None) for t in targets}
            peer_vals = [vals[p] for p in peers if vals[p] is not None and vals[p] > 0]
            best = (max if higher else min)(peer_vals) if peer_vals and higher is not None else None
            cells = []
            for t in targets:
                v = vals[t]
                if v is None:
                    cells.append("–")
                elif best:
                    cells.append(f"{fmt.format(v)} (×{v / best:.2f})")
                else:
                    cells.append(fmt.format(v))
            lines.append("| " + " | ".join([label] + cells) + " |")
    return "\n".join(lines)


def errors_text(rows):
    out = []
    for (target, test), r in rows.items():
        if r["errors"]:
            out.append(f"- {TARGET_NAMES.get(target, target)}, {TESTS.get(test, test)}: {r['errors']}")
    return "\n".join(out)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = load(argv[1])
    meta = {}
    with open(argv[2]) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    docs = argv[argv.index("--docs") + 1] if "--docs" in argv else None

    table = build_table(rows)
    errors = errors_text(rows)
    versions = ", ".join(
        f"{k} {meta[k]}" for k in ["haproxy", "nginx", "iperf3", "wrk", "dotnet"] if meta.get(k)
    )
    args = meta.get("args", "").strip()
    block = [
        f"- **Run:** {meta.get('date', '?')}; command `bench/run.sh{(' ' + args) if args else ''}` "
        f"({meta.get('duration')} s per test after a {meta.get('warmup')} s warm-up).",
        f"- **Machine:** {meta.get('cores')} cores, {meta.get('cpu')}, kernel {meta.get('kernel')}; "
        f"{float(meta.get('busy_start') or 0) * 100:.0f} % busy just before the run.",
        f"- **Versions:** {versions}." + (f" Forwarder {meta['build']} (`{meta.get('lb_dir')}`)." if meta.get("build") else ""),
        "",
        "Each cell: the figure, then (×ratio) to the best of HAProxy and nginx stream for that row "
        "(↑ higher is better, ↓ lower is better; direct is shown for reference, it has no proxy). "
        "The noise rows give the CPU that processes outside the benchmark took during each test, "
        "in cores out of the machine's total: where it is well above 0, that test's figures are low.",
        "",
        table,
    ]
    if errors:
        block += ["", "Errors or warnings reported by the tools:", "", errors]
    text = "\n".join(block)
    print()
    print(text)

    if docs:
        with open(docs) as f:
            doc = f.read()
        generated = f"{MARK_BEGIN}\n{text}\n{MARK_END}"
        if MARK_BEGIN in doc and MARK_END in doc:
            head, rest = doc.split(MARK_BEGIN, 1)
            _, tail = rest.split(MARK_END, 1)
            doc = head + generated + tail
        else:
            doc = doc.rstrip("\n") + "\n\n## TCP forwarder\n\n" + generated + "\n"
        with open(docs, "w") as f:
            f.write(doc)
        print(f"\nwritten to {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
