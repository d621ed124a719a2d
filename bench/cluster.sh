#!/usr/bin/env bash
# bench/cluster.sh — the daemon in cluster mode against the fake Kubernetes API server
# (tests/FakeKubernetesApi), or with --api real against etcd and kube-apiserver 1.26: how fast a new Service is
# served, what 5,000 Services cost at start, and how fast a standby takes over when the leader dies.
#
# Usage (from anywhere; no root needed, everything stays on 127/8):
#   bench/cluster.sh [--api fake|real] [latency|scale|failover|both|all] [--services N[,N...]] [--warmup N] [--rounds N]
#                    [--background N] [--idle-seconds N] [--daemon DLL] [--no-leader-election] [--keep] [--write]
#
# --api fake (default): the in-process fake API server
#   latency   200 Services added one at a time to a ready in-process daemon (after 20 warm-up ones):
#             p50/p90/p99/max of ADDED -> status written and ADDED -> listener accepting
#   scale     the Release daemon as its own process against 5,000 Services: start to ready, memory,
#             SIGTERM to exit; once cold and once as a restart with every status already written
#   failover  two Release daemons (leader election on, --lease-identity one|two) against 50 Services:
#             SIGKILL to the leader, 5 rounds (the dead one is restarted after each), then one SIGTERM;
#             signal -> Lease holder changed, -> standby ready, -> a Service answers through the standby
#   both      latency, then scale (as before failover existed)
#   all       (default) latency, scale, then failover
#   About a minute for latency and scale, another minute for failover.
#
# --api real: etcd (KUBEBUILDER_ASSETS/etcd, else etcd on PATH) and kube-apiserver (KUBEBUILDER_ASSETS/kube-apiserver,
#   else unpacked from ../shared/tools/kube/kube-apiserver.xz or /work/shared/tools/kube/kube-apiserver.xz) on free
#   loopback ports, a new pair per scenario (and per N), NodePort range 30000-39999; the Release daemon as its own
#   process, leader election on. Times on an idle 2-core machine, roughly:
#   scale     (--services 5000) Services created 32 at a time, 3 Nodes, then one daemon cold: start -> every
#             status.loadBalancer.ingress written, -> every listener accepting, CPU of daemon/kube-apiserver/etcd,
#             peak RSS, log lines/bytes; CPU over the 30 s after all served, then idle CPU over --idle-seconds (30); SIGKILL and restart of the same identity
#             -> every listener accepting. 2-3 minutes.
#   failover  (--services 100,1000,5000, one control plane per N) two daemons on one Lease: --rounds (3) SIGKILLs to the
#             leader, then one SIGTERM: signal -> Lease names the standby, -> standby has every listener accepting;
#             peak RSS of leader and standby. About 1 minute per N under 1,000, 2-3 minutes at 5,000.
#   latency   (--services 200, --background 5000) 20 warm-up + 200 Services created one at a time while 5,000 are
#             served: create -> ingress written, -> listener accepting, p50/p90/p99/max. 2-3 minutes.
#   all       (default) latency, scale, then failover: 10-15 minutes. (both: latency and scale.)
#
#   --services N[,N...]    Services for the scenario named (not with both or all); a list only for --api real failover
#   --warmup N             latency warm-up Services, not counted (default 20)
#   --rounds N             failover: leader crashes (default 5, real: 3); one SIGTERM round follows
#   --background N         real latency: Services served before the measured ones are added (default 5000)
#   --idle-seconds N       real scale: how long the idle CPU is measured (default 30)
#   --daemon DLL           scale, failover (real: every scenario): run this loadbalancer.dll (e.g. a ReadyToRun publish)
#   --no-leader-election   fake scale: run the daemon without leader election
#   --keep                 keep the daemons' logs (the directory is printed)
#   --write                put each scenario's figures between its own markers in docs/benchmarks.md
#                          ("cluster latency|scale|failover results", with --api real "cluster real-api
#                          latency|scale|failover results"); the other scenarios' blocks stay
#
# Builds src/Host and benchmarks/Cluster.Benchmarks in Release first. The figures go to standard output as Markdown;
# progress goes to standard error.
# Source: benchmarks/Cluster.Benchmarks (real: RealApi/); reading of the figures: docs/benchmarks.md, "Cluster mode".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCS="$ROOT/docs/benchmarks.md"

WRITE=0
KEEP=0
API=fake
PROGRAM_ARGS=()
SHOWN="bench/cluster.sh"
while (($#)); do
  case "$1" in
    --api)
      case "${2:-}" in fake|real) API="$2" ;; *) echo "bench/cluster.sh: --api is fake or real" >&2; exit 2 ;; esac
      PROGRAM_ARGS+=("$1" "$2"); SHOWN+=" $1 $2"; shift 2 ;;
    --services) PROGRAM_ARGS+=("$1" "${2:?$1 needs a number or a list}"); SHOWN+=" $1 $2"; shift 2 ;;
    --background|--idle-seconds) PROGRAM_ARGS+=("$1" "${2:?$1 needs a number}"); SHOWN+=" $1 $2"; shift 2 ;;
    latency|scale|failover|both|all) PROGRAM_ARGS+=("$1"); SHOWN+=" $1"; shift ;;
    --warmup|--rounds) PROGRAM_ARGS+=("$1" "${2:?$1 needs a number}"); SHOWN+=" $1 $2"; shift 2 ;;
    --daemon) PROGRAM_ARGS+=("$1" "$(cd "$(dirname "${2:?--daemon needs a path}")" && pwd)/$(basename "$2")"); SHOWN+=" $1 $2"; shift 2 ;;
    --no-leader-election) PROGRAM_ARGS+=("$1"); SHOWN+=" $1"; shift ;;
    --keep) KEEP=1; PROGRAM_ARGS+=("$1"); SHOWN+=" $1"; shift ;;
    --write) WRITE=1; SHOWN+=" --write"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/cluster.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

BLOCKS="$(mktemp -d)"
KUBE_TMP=""
BENCH_PID=""
# The benchmark's temporary folders (etcd's data, kubeconfigs, daemon logs) and the .NET runtime's files go here, so
# that an interrupted run, whose finally blocks never ran, leaves nothing behind either (with --keep, it is kept).
RUN_TMP="$(mktemp -d -t llb-cluster-bench.XXXXXX)"
cleanup() {
  # Only what this script started: the benchmark, and its children (daemons, etcd, kube-apiserver) by PID, should it
  # have died before stopping them itself.
  if [[ -n "$BENCH_PID" ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
    for child in $(ps -o pid= --ppid "$BENCH_PID" 2>/dev/null); do kill -TERM "$child" 2>/dev/null || true; done
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    sleep 2
    for child in $(ps -o pid= --ppid "$BENCH_PID" 2>/dev/null); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$BENCH_PID" 2>/dev/null || true
  fi
  rm -rf "$BLOCKS"
  [[ -n "$KUBE_TMP" ]] && rm -rf "$KUBE_TMP"
  if ((KEEP)); then
    echo "== kept: $RUN_TMP" >&2
  else
    rm -rf "$RUN_TMP"
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "$API" == real ]]; then
  # The envtest convention: KUBEBUILDER_ASSETS names a folder with kube-apiserver (and maybe etcd).
  if [[ -z "${KUBEBUILDER_ASSETS:-}" || ! -x "${KUBEBUILDER_ASSETS}/kube-apiserver" ]]; then
    packed=""
    for candidate in "$ROOT/../shared/tools/kube/kube-apiserver.xz" /work/shared/tools/kube/kube-apiserver.xz; do
      [[ -f "$candidate" ]] && { packed="$candidate"; break; }
    done
    if [[ -z "$packed" ]]; then
      echo "bench/cluster.sh --api real: no kube-apiserver: set KUBEBUILDER_ASSETS (setup-envtest use 1.26.x) or provide ../shared/tools/kube/kube-apiserver.xz" >&2
      exit 3
    fi
    KUBE_TMP="$(mktemp -d)"
    echo "== unpacking $packed to $KUBE_TMP" >&2
    xz -dc "$packed" >"$KUBE_TMP/kube-apiserver"
    chmod +x "$KUBE_TMP/kube-apiserver"
    export KUBEBUILDER_ASSETS="$KUBE_TMP"
  fi
  if [[ ! -x "${KUBEBUILDER_ASSETS}/etcd" ]] && ! command -v etcd >/dev/null; then
    echo "bench/cluster.sh --api real: no etcd in $KUBEBUILDER_ASSETS nor on PATH (Debian: apt-get install etcd-server)" >&2
    exit 3
  fi
  echo "== real API server: $("$KUBEBUILDER_ASSETS/kube-apiserver" --version 2>/dev/null || echo '?'), etcd $( (command -v etcd || echo "$KUBEBUILDER_ASSETS/etcd") | head -1)" >&2
fi

echo "== building src/Host and benchmarks/Cluster.Benchmarks (Release)" >&2
dotnet build "$ROOT/src/Host" -c Release -nologo -v quiet >&2
dotnet build "$ROOT/benchmarks/Cluster.Benchmarks" -c Release -nologo -v quiet >&2

echo "== open files: ulimit -n $(ulimit -n), hard $(ulimit -Hn); 5,000 listeners need 5,000 descriptors" >&2
(cd "$ROOT" && TMPDIR="$RUN_TMP" exec dotnet "$ROOT/benchmarks/Cluster.Benchmarks/bin/Release/net10.0/LoadBalancer.Cluster.Benchmarks.dll" \
  "${PROGRAM_ARGS[@]}" --command "$SHOWN" --shell-ulimit "$(ulimit -n) / $(ulimit -Hn)" --markdown-dir "$BLOCKS" >/dev/null) &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=""

for scenario in latency scale failover real-latency real-scale real-failover; do
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
scenarios = ["latency", "scale", "failover", "real-latency", "real-scale", "real-failover"]


def title(name):
    return name.replace("real-", "real-api ")


def rerun(name):
    return f"--api real {name[5:]}" if name.startswith("real-") else name


def begin(name):
    return f"<!-- bench/cluster.sh: cluster {title(name)} results begin (generated, rerun bench/cluster.sh {rerun(name)} --write to update) -->"


def end(name):
    return f"<!-- bench/cluster.sh: cluster {title(name)} results end -->"


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
