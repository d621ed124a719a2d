#!/usr/bin/env bash
# bench/cluster.sh — the daemon in cluster mode against the fake Kubernetes API server
# (tests/FakeKubernetesApi): how fast a new Service is served, and what 5,000 Services cost at start.
#
# Usage (from anywhere; no root needed, everything stays on 127/8):
#   bench/cluster.sh [latency|scale|both] [--services N] [--warmup N] [--no-leader-election] [--keep] [--write]
#
#   latency   200 Services added one at a time to a ready in-process daemon (after 20 warm-up ones):
#             p50/p90/p99/max of ADDED -> status written and ADDED -> listener accepting
#   scale     the Release daemon as its own process against 5,000 Services: start to ready, memory,
#             SIGTERM to exit; once cold and once as a restart with every status already written
#   both      (default) latency, then scale
#   --services N           Services for the scenario named (not with both)
#   --warmup N             latency warm-up Services, not counted (default 20)
#   --no-leader-election   scale: run the daemon without leader election
#   --keep                 scale: keep the daemon's logs (the directory is printed)
#   --write                put the figures between the "cluster results" markers in docs/benchmarks.md
#
# Builds src/Host and benchmarks/Cluster.Benchmarks in Release first. About a minute for both.
# Source: benchmarks/Cluster.Benchmarks; reading of the figures: docs/benchmarks.md, "Cluster mode".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCS="$ROOT/docs/benchmarks.md"
MARK_BEGIN="<!-- bench/cluster.sh: cluster results begin (generated, rerun bench/cluster.sh --write to update) -->"
MARK_END="<!-- bench/cluster.sh: cluster results end -->"

WRITE=0
PROGRAM_ARGS=()
SHOWN="bench/cluster.sh"
while (($#)); do
  case "$1" in
    latency|scale|both) PROGRAM_ARGS+=("$1"); SHOWN+=" $1"; shift ;;
    --services|--warmup) PROGRAM_ARGS+=("$1" "${2:?$1 needs a number}"); SHOWN+=" $1 $2"; shift 2 ;;
    --no-leader-election|--keep) PROGRAM_ARGS+=("$1"); SHOWN+=" $1"; shift ;;
    --write) WRITE=1; SHOWN+=" --write"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/cluster.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

echo "== building src/Host and benchmarks/Cluster.Benchmarks (Release)" >&2
dotnet build "$ROOT/src/Host" -c Release -nologo -v quiet >&2
dotnet build "$ROOT/benchmarks/Cluster.Benchmarks" -c Release -nologo -v quiet >&2

echo "== open files: ulimit -n $(ulimit -n), hard $(ulimit -Hn); 5,000 listeners need 5,000 descriptors" >&2
BLOCK="$(mktemp)"
trap 'rm -f "$BLOCK"' EXIT
(cd "$ROOT" && dotnet "$ROOT/benchmarks/Cluster.Benchmarks/bin/Release/net10.0/LoadBalancer.Cluster.Benchmarks.dll" \
  "${PROGRAM_ARGS[@]}" --command "$SHOWN" --shell-ulimit "$(ulimit -n) / $(ulimit -Hn)" --markdown "$BLOCK" >/dev/null)

echo
cat "$BLOCK"

if ((WRITE)); then
  python3 - "$DOCS" "$BLOCK" "$MARK_BEGIN" "$MARK_END" <<'PY'
import sys

docs, block, begin, end = sys.argv[1:5]
with open(block) as f:
    generated = f"{begin}\n{f.read().rstrip()}\n{end}"
with open(docs) as f:
    doc = f.read()
if begin in doc and end in doc:
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc = head + generated + tail
else:
    doc = doc.rstrip("\n") + "\n\n## Cluster mode\n\n### Results\n\n" + generated + "\n"
with open(docs, "w") as f:
    f.write(doc)
print(f"\nwritten to {docs}")
PY
fi
