#!/usr/bin/env bash
# bench/memory.sh — the daemon's memory: idle RSS, peak RSS under forwarding load, and process memory per idle
# connection, for each forwarding engine, on loopback only (127.0.141.0/24, ports 18400-18499).
#
# Usage (from anywhere; run bench/install.sh once first):
#   bench/memory.sh [--mode forward|standalone] [--engines LIST] [--conns N] [--duration SECONDS] [--settle SECONDS]
#                   [--lb-dir DIR] [--build] [--env NAME=VALUE]... [--label TEXT] [--skip-load] [--skip-conns] [--keep]
#
#   --mode      forward (default): `loadbalancer forward`, one listener, as bench/run.sh runs it (the forwarding
#               benchmark); standalone: `loadbalancer standalone FILE` on a Services file with three ports, the whole
#               daemon (allocator, reconciler, admin endpoint with /metrics)
#   --engines   comma list of splice, copy, io_uring (default: all three; one the daemon's --engine does not offer is
#               skipped, with the reason printed)
#   --conns     idle connections to open through the forwarder (default 9000); fewer are held when the forwarder's
#               connection budget (open-files limit, see below) refuses more: the count held is printed
#   --duration  seconds of each load (default 10)
#   --settle    seconds to wait before each idle reading (default 8)
#   --lb-dir    where the published daemon is (loadbalancer or loadbalancer.dll) (default /tmp/memory-lb); with
#               loadbalancer-forward beside it (what dotnet publish src/Host ships), `loadbalancer forward` becomes the
#               native forwarder (docs/adr/0011-memory-footprint.md): remove that file from a copy to measure the
#               framework-dependent forwarder
#   --build     dotnet publish src/Host -c Release into --lb-dir first (done anyway when it is missing)
#   --env       an environment variable for the daemon only, for trials (DOTNET_GCgen0size=0x400000); the shipped
#               figures are taken without any
#   --label     a name for this run in the table (default: the build's commit)
#   --skip-load / --skip-conns   leave out the load phase / the idle-connection phase
#   --keep      keep the work directory (Services file, logs, /proc snapshots)
#
# What it measures, per engine (docs/benchmarks.md, "Memory"):
#   1. idle: a fresh daemon, no traffic, after --settle s: VmRSS and its parts RssAnon (managed heap, stacks, native
#      allocations), RssFile (mapped assemblies and native libraries) and RssShmem (the JIT's double-mapped code),
#      from /proc/PID/status; /proc/PID/smaps_rollup is kept with --keep;
#   2. idle connections, same daemon: 200 connections opened and closed (the connection path's JIT code and pools
#      warm), --settle s, RSS before; then up to --conns idle connections from bench/idle_conns.py (client and echo
#      backend are separate processes; a connection counts once its byte came back through the forwarder), --settle
#      s, RSS after. Per connection = (RSS after − RSS before) / connections held. Socket buffers are kernel memory,
#      not in RSS: this is the process's own cost of an idle connection;
#   3. peak: wrk -t2 -c64 keep-alive to nginx, iperf3 -P1 and iperf3 -P4 to an iperf3 server, each through its own
#      fresh daemon (as bench/run.sh starts a proxy per test); the peak is the largest VmHWM of the three. req/s and
#      Gbit/s are printed so that a setting that costs throughput shows (they are CPU figures: noisy on a shared VM).
# The open-files hard limit bounds 2.: the forwarder keeps an eighth of RLIMIT_NOFILE in reserve and counts 2
# descriptors per connection for copy, 6 for splice (its pipes), so at a hard limit of 20,000 copy holds about
# 8,700 connections and splice about 2,900 (src/Infrastructure/Forwarding/ConnectionBudget.cs).
#
# Every process started here is recorded by PID and ended by PID on exit, error or Ctrl+C (bench/lib.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"

ENGINES="splice,copy,io_uring"
MODE=forward
CONNS=9000
DURATION=10
SETTLE=8
LB_DIR=/tmp/memory-lb
BUILD=0
KEEP=0
LABEL=""
SKIP_LOAD=0
SKIP_CONNS=0
DAEMON_ENV=()

die() { echo "bench/memory.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --engines) ENGINES="${2:?}"; shift 2 ;;
    --mode) MODE="${2:?}"; shift 2 ;;
    --conns) CONNS="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --settle) SETTLE="${2:?}"; shift 2 ;;
    --lb-dir) LB_DIR="${2:?}"; shift 2 ;;
    --build) BUILD=1; shift ;;
    --env) [[ "${2:?}" == *=* ]] || die "--env wants NAME=VALUE"; DAEMON_ENV+=("$2"); shift 2 ;;
    --label) LABEL="${2:?}"; shift 2 ;;
    --skip-load) SKIP_LOAD=1; shift ;;
    --skip-conns) SKIP_CONNS=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$MODE" == forward || "$MODE" == standalone ]] || die "--mode must be forward or standalone"
[[ "$CONNS" =~ ^[0-9]+$ && "$CONNS" -ge 100 && "$CONNS" -le 100000 ]] || die "--conns must be 100..100000"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 && "$DURATION" -le 60 ]] || die "--duration must be 1..60"
[[ "$SETTLE" =~ ^[0-9]+$ && "$SETTLE" -ge 1 && "$SETTLE" -le 120 ]] || die "--settle must be 1..120"

for tool in nginx iperf3 wrk python3 ss timeout pgrep; do
  command -v "$tool" >/dev/null || die "$tool not found — run bench/install.sh"
done

# Runtime settings from the environment would change what is measured without showing in the build.
stray=$(env | grep -E '^(DOTNET|COMPlus)_(gc|GC|Tiered|TC_|ReadyToRun|TieredPGO)' || true)
[[ -z "$stray" ]] || echo "warning: the daemon inherits runtime settings from the environment: $(paste -sd' ' <<<"$stray")" >&2

HOST=127.0.141.1        # backends and the admin endpoint
VIP=127.0.141.10        # the Services' address (an explicit loadBalancerIP from the pool)
HTTP_PORT=18400         # nginx, the HTTP backend (bench/lib.sh)
IPERF_PORT=18401        # iperf3 server
ECHO_PORT=18402         # bench/idle_conns.py backend
ADMIN_PORT=18490
SVC_HTTP=18410
SVC_IPERF=18411
SVC_ECHO=18412

WORK=$(mktemp -d /tmp/lb-memory.XXXXXX)
source "$BENCH/lib.sh"
mkdir -p "$WORK/logs"

for p in "$HTTP_PORT" "$IPERF_PORT" "$ECHO_PORT" "$ADMIN_PORT" "$SVC_HTTP" "$SVC_IPERF" "$SVC_ECHO"; do
  port_listening "$p" && die "port $p is already in use (ss -ltnp 'sport = :$p')"
done

# ---------------------------------------------------------------------------------------------
# The daemon: published with the repository's settings (nothing is added here).
command -v dotnet >/dev/null || die "dotnet not found"
if ((BUILD)) || [[ ! -f "$LB_DIR/loadbalancer.dll" && ! -x "$LB_DIR/loadbalancer" ]]; then
  publish_forwarder 1
fi
if [[ -x "$LB_DIR/loadbalancer" ]]; then
  LB=("$LB_DIR/loadbalancer")        # the apphost (framework-dependent) or the native executable (AOT)
else
  LB=(dotnet "$LB_DIR/loadbalancer.dll")
fi
HELP=$("${LB[@]}" "$MODE" --help 2>&1) || die "'${LB[*]} $MODE --help' failed: $HELP"
BUILD_NOTE=$(cat "$LB_DIR/bench-build.txt" 2>/dev/null || echo "built outside bench/, source commit unknown")
[[ -n "$LABEL" ]] || LABEL=$(sed -n 's/.*from commit \([0-9a-f]*\).*/\1/p' <<<"$BUILD_NOTE")
[[ -n "$LABEL" ]] || LABEL=$(basename "$LB_DIR")

cat >"$WORK/services.yaml" <<EOF
# bench/memory.sh: three ports on one address; health checks off (a probe would disturb iperf3's single client).
apiVersion: v1
kind: Service
metadata:
  name: memory
  namespace: bench
  annotations:
    littlelb.io/backends.http: "$HOST:$HTTP_PORT"
    littlelb.io/backends.bulk: "$HOST:$IPERF_PORT"
    littlelb.io/backends.echo: "$HOST:$ECHO_PORT"
    littlelb.io/health-check-enabled: "false"
spec:
  type: LoadBalancer
  loadBalancerIP: $VIP
  ports:
    - { name: http, port: $SVC_HTTP, protocol: TCP }
    - { name: bulk, port: $SVC_IPERF, protocol: TCP }
    - { name: echo, port: $SVC_ECHO, protocol: TCP }
EOF

DAEMON_PID=""
start_daemon() {  # ENGINE NAME TARGET: TARGET (http, bulk or echo) is the backend in forward mode; standalone serves all three
  local engine="$1" name="$2" target="$3" listen backend
  case "$target" in
    http) listen=$SVC_HTTP; backend=$HTTP_PORT ;;
    bulk) listen=$SVC_IPERF; backend=$IPERF_PORT ;;
    echo) listen=$SVC_ECHO; backend=$ECHO_PORT ;;
  esac
  # From an empty directory, so that no ./config.json is picked up; env -C execs the daemon, so the recorded PID is
  # the daemon's own.
  mkdir -p "$WORK/cwd"
  if [[ "$MODE" == forward ]]; then
    # --no-health-check: a probe connection would disturb iperf3's single client (as in bench/run.sh).
    start_bg "$WORK/logs/daemon-$name.log" env -C "$WORK/cwd" "${DAEMON_ENV[@]}" "${LB[@]}" forward \
      --listen "$VIP:$listen" --backend "$HOST:$backend" --engine "$engine" --no-health-check
  else
    rm -f "$WORK/state-$name.json"
    start_bg "$WORK/logs/daemon-$name.log" env -C "$WORK/cwd" "${DAEMON_ENV[@]}" "${LB[@]}" standalone "$WORK/services.yaml" \
      --restricted-cidr 127.0.141.0/24 --state-file "$WORK/state-$name.json" --admin-address "$HOST:$ADMIN_PORT" \
      --engine "$engine" --no-announce
  fi
  DAEMON_PID=$LAST_PID
  wait_listen "$listen" "$DAEMON_PID" 30 || { tail -20 "$WORK/logs/daemon-$name.log" >&2; die "the daemon ($engine) did not start listening"; }
}

stop_daemon() {
  [[ -n "$DAEMON_PID" ]] || return 0
  stop_tree "$DAEMON_PID"
  forget "$DAEMON_PID"
  DAEMON_PID=""
}

status_kb() {  # FIELD: a /proc/PID/status field of the daemon, in KiB
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$DAEMON_PID/status"
}

snapshot() {  # NAME: keep status and smaps_rollup for the record
  cat "/proc/$DAEMON_PID/status" >"$WORK/logs/$1.status" 2>/dev/null || true
  cat "/proc/$DAEMON_PID/smaps_rollup" >"$WORK/logs/$1.smaps_rollup" 2>/dev/null || true
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# ---------------------------------------------------------------------------------------------
# Backends, shared by every engine.
start_http_backend
start_bg "$WORK/logs/iperf3-server.log" iperf3 -s -B "$HOST" -p "$IPERF_PORT"
IPERF_PID=$LAST_PID
wait_listen "$IPERF_PORT" "$IPERF_PID" 10 || die "iperf3 server did not start"
start_bg "$WORK/logs/echo-backend.log" python3 "$BENCH/idle_conns.py" backend "$HOST:$ECHO_PORT" "$WORK/echo.ready"
ECHO_PID=$LAST_PID
wait_listen "$ECHO_PORT" "$ECHO_PID" 10 || die "echo backend did not start: $(cat "$WORK/logs/echo-backend.log")"

BUSY_START=$(busy_fraction)
echo "== bench/memory.sh: $LABEL ($BUILD_NOTE); mode=$MODE engines=$ENGINES conns=$CONNS duration=${DURATION}s settle=${SETTLE}s${DAEMON_ENV[*]:+ env: ${DAEMON_ENV[*]}}"
echo "   machine $(awk -v b="$BUSY_START" 'BEGIN {printf "%d", b * 100}') % busy at start (2 vCPU shared); load average $(cut -d' ' -f1-3 /proc/loadavg)"

ROWS=()
IFS=, read -ra ENGINE_LIST <<<"$ENGINES"
for engine in "${ENGINE_LIST[@]}"; do
  case "$engine" in splice|copy|io_uring) ;; *) die "unknown engine: $engine" ;; esac
  engine_help=$(grep -A2 -- '--engine' <<<"$HELP" | tr -s ' ' | paste -sd' ' -)
  if ! grep -q -- "$engine" <<<"$engine_help"; then
    echo "-- $engine: skipped: this build's --engine does not offer it ($(cut -c1-110 <<<"$engine_help"))"
    continue
  fi
  echo "-- $engine"
  idle_rss=""; idle_anon=""; idle_file=""; idle_shmem=""; peak=0; rps=""; gbit1=""; gbit4=""; per=""; held=""

  # 1 and 3: a fresh daemon: idle; then idle connections.
  start_daemon "$engine" "$engine-idle" echo
  sleep "$SETTLE"
  snapshot "$engine-idle"
  idle_rss=$(status_kb VmRSS); idle_anon=$(status_kb RssAnon); idle_file=$(status_kb RssFile); idle_shmem=$(status_kb RssShmem)
  printf '   idle          VmRSS %6s MiB  (anon %s, file %s, shmem %s), %s threads\n' "$(mib "$idle_rss")" \
    "$(mib "$idle_anon")" "$(mib "$idle_file")" "$(mib "$idle_shmem")" "$(status_kb Threads)"
  if ((!SKIP_CONNS)); then
    run_tool 60 "$WORK/logs/$engine-warm.txt" "$WORK/logs/$engine-warm.txt" \
      python3 "$BENCH/idle_conns.py" client "$VIP:$SVC_ECHO" 200 "$WORK/$engine-warm.status" || true
    sleep "$SETTLE"
    snapshot "$engine-before-conns"
    before=$(status_kb VmRSS); before_anon=$(status_kb RssAnon)
    start_bg "$WORK/logs/$engine-client.log" python3 "$BENCH/idle_conns.py" client "$VIP:$SVC_ECHO" "$CONNS" \
      "$WORK/$engine-conns.status" --hold
    CLIENT_PID=$LAST_PID
    deadline=$((SECONDS + 300))
    while [[ ! -s "$WORK/$engine-conns.status" ]] && ((SECONDS < deadline)) && kill -0 "$CLIENT_PID" 2>/dev/null; do sleep 0.5; done
    [[ -s "$WORK/$engine-conns.status" ]] || die "the idle client did not finish opening: $(tail -5 "$WORK/logs/$engine-client.log")"
    status_line=$(cat "$WORK/$engine-conns.status")
    held=$(sed -n 's/^established=\([0-9]*\).*/\1/p' <<<"$status_line")
    sleep "$SETTLE"
    snapshot "$engine-with-conns"
    after=$(status_kb VmRSS); after_anon=$(status_kb RssAnon)
    fds=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
    per=$(awk -v a="$after" -v b="$before" -v n="$held" 'BEGIN {if (n > 0) printf "%.2f", (a - b) / n}')
    per_anon=$(awk -v a="$after_anon" -v b="$before_anon" -v n="$held" 'BEGIN {if (n > 0) printf "%.2f", (a - b) / n}')
    printf '   idle conns    %s held: VmRSS %s → %s MiB = %s KiB per connection (anon %s); daemon fds %s\n' \
      "${held:-0}" "$(mib "$before")" "$(mib "$after")" "${per:-?}" "${per_anon:-?}" "$fds"
    echo "                 client: $status_line"
    stop_tree "$CLIENT_PID"; forget "$CLIENT_PID"
  fi
  stop_daemon

  # 2: each load on its own fresh daemon (as bench/run.sh does); the peak is the largest VmHWM of the three.
  if ((!SKIP_LOAD)); then
    for load in wrk iperf1 iperf4; do
      case "$load" in wrk) target=http ;; *) target=bulk ;; esac
      start_daemon "$engine" "$engine-$load" "$target"
      case "$load" in
        wrk)
          run_tool $((DURATION + 20)) "$WORK/logs/$engine-wrk.txt" "$WORK/logs/$engine-wrk.txt" \
            wrk -t2 -c64 -d"${DURATION}s" "http://$VIP:$SVC_HTTP/" || true
          rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$WORK/logs/$engine-wrk.txt") ;;
        iperf*)
          streams=${load#iperf}
          run_tool $((DURATION + 20)) "$WORK/logs/$engine-$load.json" "$WORK/logs/$engine-$load.err" \
            iperf3 -c "$VIP" -p "$SVC_IPERF" -t "$DURATION" -P "$streams" -J || true
          g=$(python3 -c 'import json,sys
try: print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception: print("")' "$WORK/logs/$engine-$load.json")
          if ((streams == 1)); then gbit1=$g; else gbit4=$g; fi ;;
      esac
      kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon ($engine) died under $load: $(tail -5 "$WORK/logs/daemon-$engine-$load.log")"
      snapshot "$engine-$load-peak"
      hwm=$(status_kb VmHWM)
      printf '   %-12s  VmHWM %6s MiB\n' "$load" "$(mib "$hwm")"
      ((hwm > peak)) && peak=$hwm
      stop_daemon
      sleep 0.5
    done
    printf '   peak          VmHWM %6s MiB  (wrk keep-alive %s req/s, iperf3 -P1 %s Gbit/s, -P4 %s Gbit/s)\n' \
      "$(mib "$peak")" "${rps:-FAILED}" "${gbit1:-FAILED}" "${gbit4:-FAILED}"
  fi
  ((peak > 0)) || peak=""
  ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$LABEL" "$engine" "$(mib "$idle_rss")" \
    "$(mib "$idle_anon")" "$(mib "$idle_file")" "$(mib "$idle_shmem")" "${peak:+$(mib "$peak")}" "${rps}" \
    "${gbit1}${gbit4:+ / $gbit4}" "${held}" "${per}")")
done

echo
echo "bench/memory.sh --mode $MODE, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) vCPU, kernel $(uname -r), .NET $(dotnet --list-runtimes 2>/dev/null | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}'); $BUILD_NOTE${DAEMON_ENV[*]:+; env ${DAEMON_ENV[*]}}; machine $(awk -v b="$BUSY_START" 'BEGIN {printf "%d", b * 100}') % busy at start"
echo "| build | engine | idle RSS MiB | anon | file | shmem | peak RSS MiB | wrk req/s | iperf3 Gbit/s P1 / P4 | idle conns | KiB per conn |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
