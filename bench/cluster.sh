#!/usr/bin/env bash
# bench/cluster.sh — the daemon in cluster mode against the fake Kubernetes API server
# (tests/FakeKubernetesApi): how fast a new Service is served, what 5,000 Services cost at start, and how
# fast a standby takes over when the leader dies.
#
# Usage (from anywhere; no root needed, everything stays on 127/8):
#   bench/cluster.sh [latency|scale|failover|both|all] [--services N] [--warmup N] [--rounds N] [--daemon DLL]
#                    [--no-leader-election] [--keep] [--write]
#
#   latency   200 Services added one at a time to a ready in-process daemon (after 20 warm-up ones):
#             p50/p90/p99/max of ADDED -> status written and ADDED -> listener accepting
#   scale     the Release daemon as its own process against 5,000 Services: start to ready, memory,
#             SIGTERM to exit; once cold and once as a restart with every status already written
#   failover  two Release daemons (leader election on, --lease-identity one|two) against 50 Services:
#             SIGKILL to the leader, 5 rounds (the dead one is restarted after each), then one SIGTERM;
#             signal -> Lease holder changed, -> standby ready, -> a Service answers through the standby
#   both      latency, then scale (as before failover existed)
#   all       (default) latency, scale, then failover
#   --services N           Services for the scenario named (not with both or all)
#   --warmup N             latency warm-up Services, not counted (default 20)
#   --rounds N             failover: leader crashes (default 5); one SIGTERM round follows
#   --daemon DLL           scale, failover: run this loadbalancer.dll (e.g. a ReadyToRun publish)
#   --no-leader-election   scale: run the daemon without leader election
#   --keep                 scale, failover: keep the daemons' logs (the directory is printed)
#   --write                put each scenario's figures between its own markers in docs/benchmarks.md
#                          ("cluster latency|scale|failover results"); the other scenarios' blocks stay
#
# Builds src/Host and benchmarks/Cluster.Benchmarks in Release first. About a minute for both, and
# about another minute for failover.
# Source: benchmarks/Cluster.Benchmarks; reading of the figures: docs/benchmarks.md, "Cluster mode".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCS="$ROOT/docs/benchmarks.md"

WRITE=0
PROGRAM_ARGS=()
SHOWN="bench/cluster.sh"
while (($#)); do
  case "$1" in
    latency|scale|failover|both|all) PROGRAM_ARGS+=("$1"); SHOWN+=" $1"; shift ;;
    --services|--warmup|--rounds) PROGRAM_ARGS+=("$1" "${2:?$1 needs a number}"); SHOWN+=" $1 $2"; shift 2 ;;
    --daemon) PROGRAM_ARGS+=("$1" "$(cd "$(dirname "${2:?--daemon needs a path}")" && pwd)/$(basename "$2")"); SHOWN+=" $1 $2"; shift 2 ;;
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
BLOCKS="$(mktemp -d)"
trap 'rm -rf "$BLOCKS"' EXIT
(cd "$ROOT" && dotnet "$ROOT/benchmarks/Cluster.Benchmarks/bin/Release/net10.0/LoadBalancer.Cluster.Benchmarks.dll" \
  "${PROGRAM_ARGS[@]}" --command "$SHOWN" --shell-ulimit "$(ulimit -n) / $(ulimit -Hn)" --markdown-dir "$BLOCKS" >/dev/null)

for scenario in latency scale failover; do
  if [[ -f "$BLOCKS/$scenario.md" ]]; then
    echo
    cat "$BLOCKS/$scenario.md"
  fi
done

if ((WRITE)); then
  python3 - "$DOCS" "$BLOCKS" <<'PY'
import os
import sys

docs, blocks = sys.argv[1:3]
scenarios = ["latency", "scale", "failover"]


def begin(name):
    return f"<!-- bench/cluster.sh: cluster {name} results begin (generated, rerun bench/cluster.sh {name} --write to update) -->"


def end(name):
    return f"<!-- bench/cluster.sh: cluster {name} results end -->"


with open(docs) as f:
    doc = f.read()
for index, name in enumerate(scenarios):
    path = os.path.join(blocks, name + ".md")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        generated = f"{begin(name)}\n{f.read().rstrip()}\n{end(name)}"
    if begin(name) in doc and end(name) in doc:
        head, rest = doc.split(begin(name), 1)
        _, tail = rest.split(end(name), 1)
        doc = head + generated + tail
        continue
    # A scenario written for the first time goes after the block of the scenario before it, if there is one.
    earlier = [end(other) for other in reversed(scenarios[:index]) if end(other) in doc]
    if earlier:
        head, tail = doc.split(earlier[0], 1)
        doc = head + earlier[0] + "\n\n" + generated + tail
    else:
        doc = doc.rstrip("\n") + "\n\n## Cluster mode\n\n### Results\n\n" + generated + "\n"
    print(f"{name}: new block in {docs}")
with open(docs, "w") as f:
    f.write(doc)
print(f"\nwritten to {docs}: " + ", ".join(n for n in scenarios if os.path.exists(os.path.join(blocks, n + ".md"))))
PY
fi
