#!/usr/bin/env bash
# bench/run.sh — TCP forwarder benchmark: our `loadbalancer forward` (splice and copy engines)
# against HAProxy, nginx stream and a direct connection, on loopback only.
#
# Usage (from anywhere; run bench/install.sh once first):
#   bench/run.sh [--targets LIST] [--tests LIST] [--duration SECONDS] [--warmup SECONDS]
#                [--lb-dir DIR] [--build] [--no-docs] [--keep]
#
#   --targets   comma list of: direct, lb-splice, lb-copy, haproxy, nginx   (default: all five;
#               "splice" and "copy" are accepted for lb-splice and lb-copy)
#   --tests     comma list of: iperf1, iperf4, wrk-ka, wrk-close            (default: all four)
#   --duration  seconds per measured test, for iperf3 -t and wrk -d          (default: 10)
#   --warmup    seconds of unmeasured load before each test                  (default: 2)
#   --wait-idle up to this many seconds, wait for the machine to be idle before starting  (default: 60)
#   --lb-dir    where the published forwarder is (loadbalancer.dll)          (default: /tmp/bench-lb)
#   --build     dotnet publish src/Host into --lb-dir first (done anyway when the dll is missing)
#   --no-docs   do not rewrite the "TCP forwarder" results in docs/benchmarks.md
#   --keep      keep the work directory (configs, logs, raw results) instead of deleting it
#   --proxy-protocol v1|v2
#               every proxy sends a PROXY protocol header to the backend, which expects it (nginx
#               http "listen ... proxy_protocol"): ours with --proxy-protocol, HAProxy with
#               send-proxy / send-proxy-v2, nginx stream with "proxy_protocol on" (v1 only, nginx
#               has no v2 sender). Only the wrk tests (iperf3 cannot read a header), no direct
#               target (the backend needs the header), and --no-docs implied: the figures are
#               printed for docs/benchmarks.md, "PROXY protocol".
#
# Examples:
#   bench/run.sh                                            # full run, about 5 minutes, updates docs
#   bench/run.sh --targets direct,haproxy,nginx --no-docs   # peers only
#   bench/run.sh --targets lb-splice,haproxy --tests iperf1,wrk-ka --duration 5 --no-docs
#   bench/run.sh --proxy-protocol v1                        # wrk through ours, HAProxy, nginx, all sending v1
#
# What it measures, per target and per test (details in docs/benchmarks.md, "TCP forwarder"):
#   iperf1     iperf3 -t D, one stream          -> Gbit/s (receiver side), proxy CPU s per GB
#   iperf4     iperf3 -t D -P 4                 -> Gbit/s (receiver side), proxy CPU s per GB
#   wrk-ka     wrk -t2 -c64 -dD                 -> req/s, proxy CPU µs per request
#   wrk-close  wrk -t2 -c32 -dD, Connection: close -> req/s, proxy CPU µs per request
# and for each test the proxy's peak RSS (VmHWM, summed over its processes).
#
# Every proxy is started fresh for each test, so CPU, RSS and JIT/GC state of one test do not
# leak into the next, and each listens on its own port (no bind races with TIME_WAIT leftovers).
# Everything binds to 127.0.0.1 ports 18080-18399; nothing leaves loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"

TARGETS="direct,lb-splice,lb-copy,haproxy,nginx"
TESTS="iperf1,iperf4,wrk-ka,wrk-close"
DURATION=10
WARMUP=2
WAIT_IDLE=60
LB_DIR=/tmp/bench-lb
BUILD=0
DOCS=1
KEEP=0
PROXY_PROTOCOL=""
ARGS_SHOWN="$*"

die() { echo "bench/run.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --targets) TARGETS="${2:?}"; shift 2 ;;
    --tests) TESTS="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --warmup) WARMUP="${2:?}"; shift 2 ;;
    --wait-idle) WAIT_IDLE="${2:?}"; shift 2 ;;
    --lb-dir) LB_DIR="${2:?}"; shift 2 ;;
    --build) BUILD=1; shift ;;
    --no-docs) DOCS=0; shift ;;
    --keep) KEEP=1; shift ;;
    --proxy-protocol) PROXY_PROTOCOL="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 && "$DURATION" -le 60 ]] || die "--duration must be 1..60"
[[ "$WARMUP" =~ ^[0-9]+$ && "$WARMUP" -le 30 ]] || die "--warmup must be 0..30"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ && "$WAIT_IDLE" -le 120 ]] || die "--wait-idle must be 0..120"

if [[ -n "$PROXY_PROTOCOL" ]]; then
  [[ "$PROXY_PROTOCOL" == v1 || "$PROXY_PROTOCOL" == v2 ]] || die "--proxy-protocol must be v1 or v2, not '$PROXY_PROTOCOL'"
  DOCS=0
  # The backend reads a header first, so it cannot be reached directly; iperf3 cannot read one.
  TARGETS=$(tr , '\n' <<<"$TARGETS" | grep -vx direct | paste -sd, -)
  [[ "$PROXY_PROTOCOL" == v2 ]] && TARGETS=$(tr , '\n' <<<"$TARGETS" | grep -vx nginx | paste -sd, -)
  TESTS=$(tr , '\n' <<<"$TESTS" | grep -v '^iperf' | paste -sd, -)
  [[ -n "$TARGETS" && -n "$TESTS" ]] || die "--proxy-protocol leaves no target or no test (it drops direct, iperf3, and nginx for v2)"
  HTTP_BACKEND_PROXY_PROTOCOL=1
fi

IFS=, read -ra TARGET_LIST <<<"$TARGETS"
for i in "${!TARGET_LIST[@]}"; do
  case "${TARGET_LIST[$i]}" in
    splice) TARGET_LIST[$i]=lb-splice ;;
    copy) TARGET_LIST[$i]=lb-copy ;;
    direct|lb-splice|lb-copy|haproxy|nginx) ;;
    *) die "unknown target: ${TARGET_LIST[$i]}" ;;
  esac
done
IFS=, read -ra TEST_LIST <<<"$TESTS"
for t in "${TEST_LIST[@]}"; do
  case "$t" in iperf1|iperf4|wrk-ka|wrk-close) ;; *) die "unknown test: $t" ;; esac
done

for tool in haproxy nginx iperf3 wrk python3 ss timeout pgrep; do
  command -v "$tool" >/dev/null || die "$tool not found — run bench/install.sh"
done
[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || die "nginx stream module missing — run bench/install.sh"

NCPU=$(nproc)
CLK_TCK=$(getconf CLK_TCK)
HOST=127.0.0.1
HTTP_PORT=18080    # nginx http backend (the "small HTTP backend" for wrk)
IPERF_PORT=18201   # iperf3 server (the backend for iperf3 tests)
PROXY_PORT_BASE=18300

WORK=$(mktemp -d /tmp/lb-bench.XXXXXX)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Process bookkeeping, /proc readings, the HTTP backend and the build are shared: bench/lib.sh.
source "$BENCH/lib.sh"

# ---------------------------------------------------------------------------------------------
# Preflight: ports free, forwarder built.
proxy_port() { echo $((PROXY_PORT_BASE + $1)); }
ALL_PORTS=("$HTTP_PORT" "$IPERF_PORT")
for ((i = 0; i < ${#TARGET_LIST[@]} * 4; i++)); do ALL_PORTS+=("$(proxy_port "$i")"); done
for p in "${ALL_PORTS[@]}"; do
  port_listening "$p" && die "127.0.0.1:$p is already in use (ss -ltnp 'sport = :$p')"
done

need_lb=0
for t in "${TARGET_LIST[@]}"; do [[ "$t" == lb-* ]] && need_lb=1; done
LB_NO_HC=()
if ((need_lb)); then
  publish_forwarder "$BUILD"
  run_tool 20 "$WORK/forward-help.txt" "$WORK/forward-help.txt" dotnet "$LB_DIR/loadbalancer.dll" forward --help ||
    die "'loadbalancer forward --help' failed: $(cat "$WORK/forward-help.txt")"
  help=$(cat "$WORK/forward-help.txt")
  # Without it the forwarder would probe the backends, and a stray probe connection makes the
  # single-client iperf3 server reject or garble a test.
  if grep -q -- '--no-health-check' <<<"$help"; then
    LB_NO_HC=(--no-health-check)
  else
    echo "warning: 'forward' has no --no-health-check; health probes may disturb iperf3" >&2
  fi
fi

# ---------------------------------------------------------------------------------------------
# Backends, shared by every target: one nginx http server and one iperf3 server.
start_http_backend

start_bg "$WORK/logs/iperf3-server.log" iperf3 -s -B "$HOST" -p "$IPERF_PORT"
IPERF_PID=$LAST_PID
wait_listen "$IPERF_PORT" "$IPERF_PID" 10 || { cat "$WORK/logs/iperf3-server.log" >&2; die "iperf3 server did not start"; }

# ---------------------------------------------------------------------------------------------
# Proxies. start_proxy TARGET LISTEN_PORT BACKEND_PORT sets PROXY_PID (empty for direct).
start_proxy() {
  local target="$1" port="$2" backend="$3" dir="$WORK/$1-$2"
  PROXY_PID=""
  [[ "$target" == direct ]] && return 0
  mkdir -p "$dir"
  case "$target" in
    haproxy)
      # splice-request + splice-response (always splice, not splice-auto): HAProxy's fastest
      # TCP path, the one our splice engine is compared with. nbthread = cores.
      cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread $NCPU
  maxconn 4096  # ×2 sockets + splice pipes must fit the 20000 fd hard limit seen here
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option splice-request
  option splice-response
listen fwd
  bind $HOST:$port
  server backend $HOST:$backend $(case "$PROXY_PROTOCOL" in v1) echo send-proxy ;; v2) echo send-proxy-v2 ;; esac)
EOF
      start_bg "$dir/out.log" haproxy -db -f "$dir/haproxy.cfg"
      ;;
    nginx)
      cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
stream {
  server {
    listen $HOST:$port backlog=4096;
    proxy_pass $HOST:$backend;
    $([[ "$PROXY_PROTOCOL" == v1 ]] && echo "proxy_protocol on;")
  }
}
EOF
      start_bg "$dir/out.log" nginx -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
      ;;
    lb-splice|lb-copy)
      start_bg "$dir/out.log" dotnet "$LB_DIR/loadbalancer.dll" forward \
        --listen "$HOST:$port" --backend "$HOST:$backend" --engine "${target#lb-}" "${LB_NO_HC[@]}" \
        ${PROXY_PROTOCOL:+--proxy-protocol "$PROXY_PROTOCOL"}
      ;;
  esac
  PROXY_PID=$LAST_PID
  if ! wait_listen "$port" "$PROXY_PID" 15; then
    echo "   $target did not start listening on $HOST:$port; its output:" >&2
    tail -20 "$dir/out.log" | sed 's/^/     /' >&2
    return 1
  fi
}

stop_proxy() {
  [[ -n "$PROXY_PID" ]] || return 0
  stop_tree "$PROXY_PID"
  forget "$PROXY_PID"
  PROXY_PID=""
}

# Runs one measured test; appends a line to $RESULTS:
#   target test value unit bytes requests cpu_s rss_kb errors
run_test() {
  local target="$1" test="$2" idx="$3" port backend out cpu0 cpu1 rss value bytes requests errors
  local log="$WORK/logs/$target-$test"
  case "$test" in iperf*) backend=$IPERF_PORT ;; *) backend=$HTTP_PORT ;; esac
  if [[ "$target" == direct ]]; then port=$backend; else port=$(proxy_port "$idx"); fi
  if ! start_proxy "$target" "$port" "$backend"; then
    stop_proxy
    printf '%s\t%s\t\t\t\t\t\t%s\t\n' "$target" "$test" "did not start" >>"$RESULTS"
    printf '   %-10s %-9s %10s\n' "$target" "$test" "DID NOT START"
    return 0
  fi

  local iperf_p=1 wrk_args=()
  [[ "$test" == iperf4 ]] && iperf_p=4
  case "$test" in
    wrk-ka) wrk_args=(-t2 -c64) ;;
    wrk-close) wrk_args=(-t2 -c32 -H 'Connection: close') ;;
  esac

  # Warm-up: connections, JIT tiering and buffer pools settle before the measured window.
  if ((WARMUP > 0)); then
    case "$test" in
      iperf*) run_tool $((WARMUP + 20)) "$log.warmup" "$log.warmup" iperf3 -c "$HOST" -p "$port" -t "$WARMUP" -P "$iperf_p" || true ;;
      wrk*) run_tool $((WARMUP + 20)) "$log.warmup" "$log.warmup" wrk "${wrk_args[@]}" -d"${WARMUP}s" "http://$HOST:$port/" || true ;;
    esac
    sleep 0.5  # let the iperf3 server return to listening between runs
  fi

  cpu0=0; [[ -n "$PROXY_PID" ]] && cpu0=$(cpu_ticks "$PROXY_PID")
  local f0 f1 t0 t1
  f0=$(foreign_ticks); t0=$(date +%s.%N)
  value=""; bytes=""; requests=""; errors=""
  case "$test" in
    iperf*)
      if run_tool $((DURATION + 20)) "$log.json" "$log.err" iperf3 -c "$HOST" -p "$port" -t "$DURATION" -P "$iperf_p" -J; then
        # An interrupted test can exit 0 with an "error" and no sums: record it, do not stop the run.
        read -r value bytes < <(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))["end"]["sum_received"]
    print("%.2f %d" % (d["bits_per_second"] / 1e9, d["bytes"]))
except Exception:
    print("")' "$log.json") || true
        [[ -n "$value" ]] || errors="iperf3 gave no receiver totals (see $log.json)"
      else
        errors="iperf3 failed: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error","?"))' "$log.json" 2>/dev/null || head -c 200 "$log.err")"
      fi
      ;;
    wrk*)
      if run_tool $((DURATION + 20)) "$log.txt" "$log.txt" wrk "${wrk_args[@]}" -d"${DURATION}s" "http://$HOST:$port/"; then
        value=$(awk '/^Requests\/sec:/ {print $2}' "$log.txt")
        requests=$(awk '/requests in/ {print $1}' "$log.txt")
        errors=$(grep -E 'Socket errors|Non-2xx' "$log.txt" | tr -s ' ' | paste -sd';' - || true)
      else
        errors="wrk failed: $(tail -c 200 "$log.txt")"
      fi
      ;;
  esac
  f1=$(foreign_ticks); t1=$(date +%s.%N)
  cpu1=0; rss=0
  if [[ -n "$PROXY_PID" ]]; then
    kill -0 "$PROXY_PID" 2>/dev/null || errors="${errors:+$errors; }proxy died during the test"
    cpu1=$(cpu_ticks "$PROXY_PID")
    rss=$(peak_rss_kb "$PROXY_PID")
  fi
  stop_proxy
  local cpu_s other
  cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
  other=$(awk -v a="$f0" -v b="$f1" -v hz="$CLK_TCK" -v s="$t0" -v e="$t1" \
    'BEGIN {d = (b - a) / hz / (e - s); printf "%.2f", d < 0 ? 0 : d}')
  [[ "$target" == direct ]] && { cpu_s=""; rss=""; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$test" "${value}" "${bytes}" "${requests}" \
    "${cpu_s}" "${rss}" "${errors}" "${other}" >>"$RESULTS"
  printf '   %-10s %-9s %10s %-6s  proxy cpu %5s s  peak rss %7s KiB  others %s cores  %s\n' "$target" "$test" \
    "${value:-FAILED}" "$([[ $test == iperf* ]] && echo Gbit/s || echo req/s)" "${cpu_s:--}" "${rss:--}" "$other" "$errors"
  # Sockets from the test drain (FIN/TIME_WAIT handling) before the next one starts.
  sleep 1
}

# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
wait_until_idle "$WAIT_IDLE"

echo "== bench/run.sh: targets=${TARGET_LIST[*]} tests=${TEST_LIST[*]} duration=${DURATION}s warmup=${WARMUP}s"
START=$SECONDS
# Test-major order: all targets of one test run back to back, so that the slow and fast phases
# of a shared VM host (seen here: ±30 % between identical runs minutes apart) hit the figures
# that are compared with each other as evenly as possible.
idx=0
for test in "${TEST_LIST[@]}"; do
  echo "-- $test"
  for target in "${TARGET_LIST[@]}"; do
    run_test "$target" "$test" "$idx"
    idx=$((idx + 1))
  done
done
echo "== measured in $((SECONDS - START)) s"

# Environment for the report: what ran, where, with which versions.
{
  machine_facts
  echo "haproxy=$(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}')"
  echo "nginx=$(nginx -v 2>&1 | sed 's|.*nginx/||')"
  echo "iperf3=$(iperf3 --version 2>/dev/null | awk 'NR==1 {print $2}')"
  echo "wrk=$(wrk -v 2>&1 | awk 'NR==1 {print $2}')"
  if ((need_lb)); then forwarder_facts; fi
  echo "lb_dir=$LB_DIR"
  echo "busy_start=$BUSY_START"
  echo "duration=$DURATION"
  echo "warmup=$WARMUP"
  echo "args=$ARGS_SHOWN"
  if [[ -n "$PROXY_PROTOCOL" ]]; then echo "proxy_protocol=$PROXY_PROTOCOL"; fi
} >"$WORK/meta.txt"

report_args=("$RESULTS" "$WORK/meta.txt")
((DOCS)) && report_args+=(--docs "$ROOT/docs/benchmarks.md")
python3 "$BENCH/report.py" "${report_args[@]}"
