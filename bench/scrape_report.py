#!/usr/bin/env python3
"""Report for bench/scrape-overhead.sh: prints it, and with --docs writes it between its markers in docs/benchmarks.md.

Usage: scrape_report.py WINDOWS.tsv IDLE.tsv META.txt [--docs docs/benchmarks.md]

Each test's figures are medians over the rounds. The comparisons are paired: in each round "on" and "control" are
divided by that round's "off", and the report gives the median of those ratios and their range. "control" is measured
exactly as "off" is, so its ratio shows how far two identical conditions drift apart; "on" is within noise when its
ratio stays inside that spread.
"""
import csv
import statistics
import sys

MARK_BEGIN = "<!-- bench/scrape-overhead.sh: results begin (generated, rerun bench/scrape-overhead.sh --docs to update) -->"
MARK_END = "<!-- bench/scrape-overhead.sh: results end -->"
TEST_NAMES = {"wrk-ka": "keep-alive (`-t2 -c64`)", "wrk-close": "connection per request (`-t2 -c32`, `Connection: close`)"}


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    return meta


def percent(ratio):
    return f"{(ratio - 1) * 100:+.1f} %"


def span(ratios):
    return f"{percent(min(ratios))} … {percent(max(ratios))}"


def test_rows(windows, test):
    """Per condition: req/s and daemon CPU µs per request, medians; paired ratios per round."""
    by = {}
    for w in windows:
        if w["test"] != test:
            continue
        rps, requests, cpu = number(w["req_s"]), number(w["requests"]), number(w["daemon_cpu_s"])
        if rps is None or not requests:
            continue  # a window without figures is left out, and listed below the tables
        by.setdefault(w["round"], {})[w["condition"]] = {
            "rps": rps, "us": cpu / requests * 1e6, "scrapes": number(w["scrapes"]),
            "scrape_ms": number(w["scrape_ms"]), "bytes": number(w["scrape_bytes"]),
            "scraper": number(w["scraper_cores"]), "others": number(w["others_cores"])}
    complete = {r: c for r, c in by.items() if all(k in c for k in ("off", "on", "control"))}
    return complete


def render(windows, idle, meta):
    out = []
    shown = meta.get("args", "").strip()
    out.append(f"- **Run:** {meta['date']}; command `bench/scrape-overhead.sh{(' ' + shown) if shown else ''}`: "
               f"{meta['rounds']} rounds of three {meta['duration']} s windows per test, {meta['services']} Services in the "
               f"daemon's file, one scrape every {meta['interval']} s.")
    others = [number(w["others_cores"]) for w in windows if number(w["others_cores"]) is not None]
    out.append(f"- **Machine:** {meta['cores']} cores, {meta['cpu']}, kernel {meta['kernel']}; "
               f"{round(float(meta['busy_start']) * 100)} % busy just before the run; processes outside the benchmark "
               f"took at most {max(others, default=0):.2f} cores during a window.")
    out.append(f"- **Versions:** dotnet {meta['dotnet']}, wrk {meta['wrk']}, nginx {meta['nginx']} (backend). "
               f"Daemon {meta['build']}.")
    out.append("")
    out.append("| test | condition | req/s, median (min–max) | daemon CPU µs/req, median | scrapes per window, median time, size |")
    out.append("|---|---|---:|---:|---|")
    ratio_rows = []
    failed = [w for w in windows if not number(w["req_s"]) or not number(w["requests"])]
    erring = [w for w in windows if w["errors"] and w not in failed]
    for test in [t for t in TEST_NAMES if any(w["test"] == t for w in windows)]:
        rounds = test_rows(windows, test)
        if not rounds:
            out.append(f"| {TEST_NAMES[test]} | – | no complete round | | |")
            continue
        for condition in ("off", "on", "control"):
            rps = [c[condition]["rps"] for c in rounds.values()]
            us = [c[condition]["us"] for c in rounds.values()]
            scrape = ""
            if condition == "on":
                s = [c["on"]["scrapes"] for c in rounds.values() if c["on"]["scrapes"] is not None]
                ms = [c["on"]["scrape_ms"] for c in rounds.values() if c["on"]["scrape_ms"] is not None]
                b = [c["on"]["bytes"] for c in rounds.values() if c["on"]["bytes"] is not None]
                cores = [c["on"]["scraper"] for c in rounds.values() if c["on"]["scraper"] is not None]
                if s and ms and b:
                    scrape = (f"{statistics.median(s):.0f} scrapes, {statistics.median(ms):.1f} ms, "
                              f"{statistics.median(b) / 1024:.0f} KiB; the scraper itself {statistics.median(cores):.3f} cores")
            label = {"off": "off (no scraper)", "on": "**on** (scraper)", "control": "control (no scraper)"}[condition]
            out.append(f"| {TEST_NAMES[test]} | {label} | {statistics.median(rps):,.0f} ({min(rps):,.0f}–{max(rps):,.0f}) "
                       f"| {statistics.median(us):.1f} | {scrape} |")
        on_rps = [c["on"]["rps"] / c["off"]["rps"] for c in rounds.values()]
        ctl_rps = [c["control"]["rps"] / c["off"]["rps"] for c in rounds.values()]
        on_us = [c["on"]["us"] / c["off"]["us"] for c in rounds.values()]
        ctl_us = [c["control"]["us"] / c["off"]["us"] for c in rounds.values()]
        ratio_rows.append((test, len(rounds), on_rps, ctl_rps, on_us, ctl_us))
    out.append("")
    out.append("Paired per round, against that round's *off* window (median of the rounds, then the range). *control* is "
               "measured exactly as *off*: its spread is the noise that *on* must be compared with.")
    out.append("")
    out.append("| test | rounds | req/s: on ÷ off | req/s: control ÷ off (noise) | CPU per request: on ÷ off | CPU per request: control ÷ off (noise) |")
    out.append("|---|---:|---|---|---|---|")
    for test, n, on_rps, ctl_rps, on_us, ctl_us in ratio_rows:
        out.append(f"| {TEST_NAMES[test]} | {n} | {percent(statistics.median(on_rps))} ({span(on_rps)}) "
                   f"| {percent(statistics.median(ctl_rps))} ({span(ctl_rps)}) "
                   f"| {percent(statistics.median(on_us))} ({span(on_us)}) "
                   f"| {percent(statistics.median(ctl_us))} ({span(ctl_us)}) |")
    if idle:
        off = [float(r["daemon_cpu_s"]) / float(r["seconds"]) for r in idle if r["condition"] == "off"]
        on_rows = [r for r in idle if r["condition"] == "on"]
        on = [float(r["daemon_cpu_s"]) / float(r["seconds"]) for r in on_rows]
        scrapes_per_second = statistics.median(float(r["scrapes"]) / float(r["seconds"]) for r in on_rows)
        per_scrape_ms = (statistics.median(on) - statistics.median(off)) / scrapes_per_second * 1000
        out.append("")
        out.append(f"Idle daemon ({meta['services']} Services, no traffic), {len(off)} windows of {idle[0]['seconds']} s each way, "
                   f"alternated; the scraper asks every {meta['idle_interval']} s ({scrapes_per_second:.2f} scrapes/s), "
                   f"just past the exporter's 300 ms response cache: {statistics.median(off) * 1000:.1f} ms of CPU per second "
                   f"without the scraper ({min(off) * 1000:.1f}–{max(off) * 1000:.1f}), {statistics.median(on) * 1000:.1f} with it "
                   f"({min(on) * 1000:.1f}–{max(on) * 1000:.1f}): {per_scrape_ms:.1f} ms of CPU per scrape "
                   f"(difference of the medians), {per_scrape_ms * float(meta['interval']) ** -1 / 10:.2f} % of one core at one "
                   f"scrape every {meta['interval']} s.")
    if failed:
        out.append("")
        out.append("Windows left out: " + "; ".join(
            f"{w['test']} round {w['round']} {w['condition']}: {w['errors'] or 'no result'}" for w in failed))
    if erring:
        out.append("")
        out.append("Windows counted that reported errors: " + "; ".join(
            f"{w['test']} round {w['round']} {w['condition']}: {w['errors']}" for w in erring))
    return "\n".join(out)


def main(argv):
    if len(argv) not in (4, 6) or (len(argv) == 6 and argv[4] != "--docs"):
        sys.exit("usage: scrape_report.py WINDOWS.tsv IDLE.tsv META.txt [--docs docs/benchmarks.md]")
    text = render(read_tsv(argv[1]), read_tsv(argv[2]), read_meta(argv[3]))
    print()
    print(text)
    if len(argv) == 6:
        with open(argv[5]) as f:
            doc = f.read()
        if MARK_BEGIN not in doc or MARK_END not in doc:
            sys.exit(f"scrape_report.py: the markers of the results are not in {argv[5]}; add them where the results go:\n"
                     f"{MARK_BEGIN}\n{MARK_END}")
        head, rest = doc.split(MARK_BEGIN, 1)
        _, tail = rest.split(MARK_END, 1)
        with open(argv[5], "w") as f:
            f.write(head + MARK_BEGIN + "\n" + text + "\n" + MARK_END + tail)
        print(f"\nwritten to {argv[5]}")


if __name__ == "__main__":
    main(sys.argv)
