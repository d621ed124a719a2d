#!/usr/bin/env python3
"""Table for bench/run.sh: prints it, and with --docs rewrites the results block of docs/benchmarks.md.

Usage: report.py RESULTS.tsv META.txt [--docs docs/benchmarks.md]

RESULTS.tsv lines (tab separated, written by run.sh), one per target, test and round:
    target test value bytes requests cpu_s rss_kb errors other_cores round p99_ms
(files from before rounds have only the first nine columns: one round.)
META.txt: key=value lines (date, kernel, cpu, versions, arguments); a key may repeat (skipped=).

Each figure is the median over the rounds, followed by its spread: ±x % is how far the round
farthest from the median lies from it, relative to the median (every round is within ±x %).
The last column divides the best of our engines by the best peer, both by their medians, and gives
the range of that ratio over the rounds (each round's pair of runs was taken minutes apart at most).
"""
import statistics
import sys

MARK_BEGIN = "<!-- bench/run.sh: forwarder results begin (generated, rerun bench/run.sh to update) -->"
MARK_END = "<!-- bench/run.sh: forwarder results end -->"

TARGET_ORDER = ["direct", "lb-splice", "lb-copy", "lb-uring", "go", "haproxy", "haproxy-auto", "nginx"]
TARGET_NAMES = {
    "direct": "direct",
    "lb-splice": "ours splice",
    "lb-copy": "ours copy",
    "lb-uring": "ours io_uring",
    "go": "Go io.Copy",
    "haproxy": "HAProxy splice",
    "haproxy-auto": "HAProxy splice-auto",
    "nginx": "nginx stream",
}
SHORT = {
    "lb-splice": "splice",
    "lb-copy": "copy",
    "lb-uring": "io_uring",
    "go": "Go",
    "haproxy": "HAProxy",
    "haproxy-auto": "HAProxy auto",
    "nginx": "nginx",
}
# Our engines, and the peers that set the "best" a ratio is taken against; direct is a reference.
OURS = ["lb-splice", "lb-copy", "lb-uring"]
PEERS = ["go", "haproxy", "haproxy-auto", "nginx"]
TESTS = {
    "iperf1": "iperf3 1 stream",
    "iperf4": "iperf3 4 streams",
    "wrk-ka": "wrk keep-alive",
    "wrk-close": "wrk Connection: close",
}


def num(text, kind=float):
    return kind(text) if text else None


def load(path):
    """(target, test) -> list of per-round dicts, in file order."""
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (11 - len(parts))
            target, test, value, nbytes, requests, cpu_s, rss_kb, errors, other, rnd, p99 = parts[:11]
            rows.setdefault((target, test), []).append(dict(
                round=int(rnd) if rnd else 1,
                value=num(value),
                bytes=num(nbytes, int),
                requests=num(requests, int),
                cpu_s=num(cpu_s),
                rss_kb=num(rss_kb, int),
                errors=errors,
                other=num(other),
                p99_ms=num(p99),
            ))
    return rows


def metrics_for(test):
    """(label, higher_is_better, extractor, format) for each metric of a test.

    higher_is_better None: a row shown without a ratio (raw CPU seconds, the noise indicator)."""
    def value(r):
        return r["value"]

    def cpu(r):
        return r["cpu_s"] if r["value"] is not None else None

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

    def p99(r):
        return r["p99_ms"]

    def other(r):
        return r["other"]

    name = TESTS[test]
    noise = (f"{name}, other processes' CPU, cores (noise)", None, other, "{:.2f}")
    if test.startswith("iperf"):
        return [
            (f"{name}, Gbit/s ↑", True, value, "{:.2f}"),
            (f"{name}, proxy CPU s/GB ↓", False, per_gb, "{:.3f}"),
            (f"{name}, proxy CPU s", None, cpu, "{:.2f}"),
            (f"{name}, proxy peak RSS MiB ↓", False, rss, "{:.1f}"),
            noise,
        ]
    return [
        (f"{name}, req/s ↑", True, value, "{:,.0f}"),
        (f"{name}, p99 latency ms ↓", False, p99, "{:.2f}"),
        (f"{name}, proxy CPU µs/req ↓", False, per_req, "{:.1f}"),
        (f"{name}, proxy CPU s", None, cpu, "{:.2f}"),
        (f"{name}, proxy peak RSS MiB ↓", False, rss, "{:.1f}"),
        noise,
    ]


def spread(values, med):
    """The farthest value's distance from the median, relative to it (0.03 = every value within ±3 %)."""
    if not med:
        return None
    return max(abs(v - med) for v in values) / abs(med)


def cell(values, n_rounds, fmt, noise=False):
    if not values:
        return "–"
    med = statistics.median(values)
    text = fmt.format(med)
    if noise and len(values) > 1:
        # Near 0 a relative spread says nothing; the worst round's noise does.
        text += f" (max {fmt.format(max(values))})"
    elif len(values) > 1:
        sp = spread(values, med)
        if sp is not None:
            text += f" ±{sp * 100:.0f}%"
    if len(values) < n_rounds:
        text += f" ({len(values)} of {n_rounds})"
    return text


def best_of(names, medians, higher):
    cands = [(medians[t], t) for t in names if medians.get(t) is not None and medians[t] > 0]
    if not cands:
        return None
    return (max if higher else min)(cands)[1]


def ratio_cell(per_round, medians, higher, targets):
    """Best of ours ÷ best peer by medians, with the range of the same ratio over the rounds."""
    ours = best_of([t for t in OURS if t in targets], medians, higher)
    peer = best_of([t for t in PEERS if t in targets], medians, higher)
    if not ours or not peer:
        return "–"
    text = f"×{medians[ours] / medians[peer]:.2f} {SHORT[ours]}÷{SHORT[peer]}"
    paired = [per_round[ours][r] / per_round[peer][r]
              for r in per_round[ours] if r in per_round[peer] and per_round[peer][r]]
    if len(paired) > 1:
        text += f" ({min(paired):.2f}–{max(paired):.2f})"
    return text


def build_table(rows, n_rounds):
    targets = [t for t in TARGET_ORDER if any(k[0] == t for k in rows)]
    tests = [t for t in TESTS if any(k[1] == t for k in rows)]
    has_ratio = any(t in targets for t in OURS) and any(t in targets for t in PEERS)
    header = ["metric"] + [TARGET_NAMES[t] for t in targets] + (["ours ÷ best peer"] if has_ratio else [])
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for test in tests:
        for label, higher, get, fmt in metrics_for(test):
            per_round, medians, cells = {}, {}, []
            for t in targets:
                got = {r["round"]: get(r) for r in rows.get((t, test), [])}
                got = {k: v for k, v in got.items() if v is not None}
                per_round[t] = got
                medians[t] = statistics.median(got.values()) if got else None
                cells.append(cell(list(got.values()), n_rounds, fmt, noise=label.endswith("(noise)")))
            if has_ratio:
                cells.append(ratio_cell(per_round, medians, higher, targets) if higher is not None else "")
            lines.append("| " + " | ".join([label] + cells) + " |")
    return "\n".join(lines)


def rounds_table(rows, n_rounds):
    """Console only: the main figure of every round, to see drift and outliers behind a median."""
    targets = [t for t in TARGET_ORDER if any(k[0] == t for k in rows)]
    out = []
    for test in [t for t in TESTS if any(k[1] == t for k in rows)]:
        unit = "Gbit/s" if test.startswith("iperf") else "req/s"
        out.append(f"{TESTS[test]}, {unit}, rounds 1..{n_rounds}:")
        for t in targets:
            by_round = {r["round"]: r["value"] for r in rows.get((t, test), [])}
            vals = [by_round.get(i) for i in range(1, n_rounds + 1)]
            shown = ["–" if v is None else (f"{v:.2f}" if unit == "Gbit/s" else f"{v:,.0f}") for v in vals]
            out.append(f"  {TARGET_NAMES[t]:<20} " + "  ".join(f"{s:>9}" for s in shown))
    return "\n".join(out)


def errors_text(rows, n_rounds):
    out = []
    for (target, test), runs in rows.items():
        for r in runs:
            if r["errors"]:
                where = f", round {r['round']}" if n_rounds > 1 else ""
                out.append(f"- {TARGET_NAMES.get(target, target)}, {TESTS.get(test, test)}{where}: {r['errors']}")
    return "\n".join(out)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = load(argv[1])
    meta, skipped = {}, []
    with open(argv[2]) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                if k == "skipped":
                    skipped.append(v)
                else:
                    meta[k] = v
    docs = argv[argv.index("--docs") + 1] if "--docs" in argv else None
    n_rounds = int(meta.get("rounds") or max((r["round"] for runs in rows.values() for r in runs), default=1))

    table = build_table(rows, n_rounds)
    errors = errors_text(rows, n_rounds)
    versions = ", ".join(
        f"{k} {meta[k]}" for k in ["haproxy", "nginx", "go", "iperf3", "wrk", "dotnet"] if meta.get(k)
    )
    args = meta.get("args", "").strip()
    block = [
        f"- **Run:** {meta.get('date', '?')}; command `bench/run.sh{(' ' + args) if args else ''}` "
        f"({n_rounds} round{'s' if n_rounds != 1 else ''}, {meta.get('duration')} s per test "
        f"after a {meta.get('warmup')} s warm-up).",
        f"- **Machine:** {meta.get('cores')} cores, {meta.get('cpu')}, kernel {meta.get('kernel')}; "
        f"{float(meta.get('busy_start') or 0) * 100:.0f} % busy just before the run.",
        f"- **Versions:** {versions}." + (f" Forwarder {meta['build']} (`{meta.get('lb_dir')}`)." if meta.get("build") else ""),
    ]
    if skipped:
        block.append("- **Skipped:** " + "; ".join(skipped) + ".")
    block += [
        "",
        "Each cell: the median over the rounds, then ±x %, how far the round farthest from that median lies from it "
        "(every round within ±x %; none with one round). ↑ higher is better, ↓ lower is better; direct is shown for "
        "reference, it has no proxy. The last column divides the best of our engines by the best peer (Go, HAProxy "
        "either way, nginx), medians, and in brackets the lowest and highest of the same ratio within one round. "
        "The noise rows give the CPU that processes outside the benchmark took during each test, in cores (median, "
        "and the most in one round): where it is well above 0, that test's figures are low.",
        "",
        table,
    ]
    if errors:
        block += ["", "Errors or warnings reported by the tools:", "", errors]
    text = "\n".join(block)
    print()
    print(text)
    if n_rounds > 1:
        print()
        print(rounds_table(rows, n_rounds))

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
