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
#
# Examples:
#   bench/run.sh                                            # full run, about 5 minutes, updates docs
#   bench/run.sh --targets direct,haproxy,nginx --no-docs   # peers only
#   bench/run.sh --targets lb-splice,haproxy --tests iperf1,wrk-ka --duration 5 --no-docs
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
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 && "$DURATION" -le 60 ]] || die "--duration must be 1..60"
[[ "$WARMUP" =~ ^[0-9]+$ && "$WARMUP" -le 30 ]] || die "--warmup must be 0..30"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ && "$WAIT_IDLE" -le 120 ]] || die "--wait-idle must be 0..120"

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
# Process bookkeeping: every process we start is recorded by PID; cleanup ends it and its
# descendants by PID (never by name), on normal exit, on error and on Ctrl+C.
STARTED=()

descendants() {  # PID -> PID and all its descendants, one per line
  local p c
  echo "$1"
  for c in $(pgrep -P "$1" 2>/dev/null || true); do descendants "$c"; done
}

stop_tree() {  # PID: TERM the tree, give it 5 s, then KILL whatever of it is left
  local root="$1" pids p i
  pids=$(descendants "$root")
  kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null || true
  wait "$root" 2>/dev/null || true
}

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${STARTED[@]}"; do stop_tree "$p"; done
  if ((KEEP)); then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench/run.sh: interrupted" >&2; exit 130' INT TERM

start_bg() {  # LOGFILE CMD...: start CMD in the background, record its PID in $LAST_PID
  local log="$1"; shift
  "$@" >"$log" 2>&1 &
  LAST_PID=$!
  STARTED+=("$LAST_PID")
}

forget() {  # PID: drop from STARTED after it was stopped
  local p keep=()
  for p in "${STARTED[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  STARTED=("${keep[@]}")
}

# Runs a load tool (or build) under `timeout`, in the background, and waits for it. A foreground
# command would defer our Ctrl+C trap until it ends — and forever, for iperf3, which catches
# SIGINT and exits 0 so bash assumes it was handled; `wait` instead returns at once on a trapped
# signal, and cleanup then ends the tool by PID like every other process we started.
run_tool() {  # SECONDS OUT ERR CMD...
  local secs="$1" out="$2" err="$3" pid rc=0
  shift 3
  if [[ "$out" == "$err" ]]; then
    timeout -k 5 "$secs" "$@" >"$out" 2>&1 &
  else
    timeout -k 5 "$secs" "$@" >"$out" 2>"$err" &
  fi
  pid=$!
  STARTED+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

port_listening() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }

wait_listen() {  # PORT PID SECONDS: until something listens on PORT, failing if PID died
  local port="$1" pid="$2" deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    port_listening "$port" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# CPU ticks (utime+stime) of a process tree. /proc/PID/stat of a process is the thread-group
# total, threads included (also threads that already exited), so one read per process suffices;
# nginx's workers are separate processes, hence the walk over descendants.
cpu_ticks() {
  local total=0 p line f
  for p in $(descendants "$1"); do
    line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    # comm (field 2) may contain spaces: split after its closing parenthesis; utime/stime are
    # then the 12th and 13th fields (14 and 15 in proc(5) numbering).
    read -ra f <<<"${line##*) }"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# CPU ticks of every user process that is not ours (not this script or its descendants), children
# already reaped included (cutime/cstime), so a build that forks many short compilers still shows.
# The delta over a test says how much of the 2 vCPUs something else took: on a shared machine
# that is the main source of variance, so the report prints it next to the figures.
foreign_ticks() {
  local ours
  ours=$(descendants $$ | tr '\n' ' ')
  awk -v ours=" $ours " '
    FNR == 1 {
      pid = FILENAME; sub("^/proc/", "", pid); sub("/stat$", "", pid)
      if (index(ours, " " pid " ")) next
      line = $0; sub(/^.*\) /, "", line); n = split(line, f, " ")
      # Kernel threads (kthreadd = 2 and its children) are left out: ksoftirqd and kworkers
      # carry the loopback traffic of this benchmark when softirqs overflow.
      if (pid == 2 || f[2] == 2) next
      if (n >= 15) t += f[12] + f[13] + f[14] + f[15]
    }
    END { print t + 0 }' /proc/[0-9]*/stat 2>/dev/null
}

busy_fraction() {  # whole-machine busy share (0..1) over 2 s, from /proc/stat
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 2
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
    busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%.2f", (busy + idle) ? busy / (busy + idle) : 0}'
}

# Peak RSS in KiB: VmHWM summed over the process tree (nginx master + workers).
peak_rss_kb() {
  local total=0 p v
  for p in $(descendants "$1"); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

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
  command -v dotnet >/dev/null || die "dotnet not found"
  if ((BUILD)) || [[ ! -f "$LB_DIR/loadbalancer.dll" ]]; then
    echo "== building the forwarder: dotnet publish src/Host -c Release -o $LB_DIR"
    run_tool 300 "$WORK/publish.log" "$WORK/publish.log" dotnet publish "$ROOT/src/Host" -c Release -o "$LB_DIR" ||
      { tail -20 "$WORK/publish.log" >&2; die "dotnet publish failed (log above)"; }
    # HEAD may move between this build and a later run against the same --lb-dir; the report
    # names the source the binary was built from, not the one checked out when it ran.
    echo "built $(date -u '+%Y-%m-%d %H:%M UTC') from commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(
      git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')" >"$LB_DIR/bench-build.txt"
  fi
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
mkdir -p "$WORK/backend" "$WORK/logs"
cat >"$WORK/backend/nginx.conf" <<EOF
# worker_processes auto (= cores): with 1 worker the backend alone caps Connection: close at about
# 12k req/s here, below what the proxies reach; auto lets direct show what the machine can do.
# It is the same backend, same settings, for every target.
worker_processes auto;
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $WORK/backend/tmp;
  proxy_temp_path $WORK/backend/tmp;
  fastcgi_temp_path $WORK/backend/tmp;
  uwsgi_temp_path $WORK/backend/tmp;
  scgi_temp_path $WORK/backend/tmp;
  # Effectively unlimited keep-alive, so the keep-alive test never reconnects through the proxy.
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  server {
    listen $HOST:$HTTP_PORT reuseport backlog=4096;
    location / {
      default_type text/plain;
      return 200 "hello from the bench backend\n";
    }
  }
}
EOF
start_bg "$WORK/logs/backend-nginx.log" nginx -e "$WORK/backend/error.log" -c "$WORK/backend/nginx.conf" -g 'daemon off;'
BACKEND_NGINX_PID=$LAST_PID
wait_listen "$HTTP_PORT" "$BACKEND_NGINX_PID" 10 || { cat "$WORK/logs/backend-nginx.log" >&2; die "http backend did not start"; }

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
  server backend $HOST:$backend
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
  }
}
EOF
      start_bg "$dir/out.log" nginx -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
      ;;
    lb-splice|lb-copy)
      start_bg "$dir/out.log" dotnet "$LB_DIR/loadbalancer.dll" forward \
        --listen "$HOST:$port" --backend "$HOST:$backend" --engine "${target#lb-}" "${LB_NO_HC[@]}"
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
# Other work on the machine (builds, tests) takes CPU from the 2 vCPUs everything here shares;
# wait a bounded time for it to pass, then go on regardless and let the report show it.
BUSY_START=$(busy_fraction)
waited=0
while awk -v b="$BUSY_START" 'BEGIN {exit !(b > 0.10)}' && ((waited < WAIT_IDLE)); do
  echo "   machine busy ($(awk -v b="$BUSY_START" 'BEGIN {printf "%d", b * 100}') % CPU before start); waiting up to ${WAIT_IDLE}s for it to settle"
  sleep 3; waited=$((waited + 5))
  BUSY_START=$(busy_fraction)
done
awk -v b="$BUSY_START" 'BEGIN {exit !(b > 0.10)}' &&
  echo "   warning: machine still $(awk -v b="$BUSY_START" 'BEGIN {printf "%d", b * 100}') % busy; figures will be noisy" >&2

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
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "kernel=$(uname -r)"
  # "model name" alone can be as vague as "AMD EPYC" under a hypervisor; family/model pin the generation.
  echo "cpu=$(awk -F': ' '/^model name/ {n = $2} /^cpu family/ {f = $2} /^model\t/ {m = $2}
    /^$/ {exit} END {printf "%s (family %s, model %s)", n, f, m}' /proc/cpuinfo)"
  echo "cores=$NCPU"
  echo "haproxy=$(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}')"
  echo "nginx=$(nginx -v 2>&1 | sed 's|.*nginx/||')"
  echo "iperf3=$(iperf3 --version 2>/dev/null | awk 'NR==1 {print $2}')"
  echo "wrk=$(wrk -v 2>&1 | awk 'NR==1 {print $2}')"
  if ((need_lb)); then
    echo "dotnet=$(dotnet --list-runtimes 2>/dev/null | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}')"
    if [[ -f "$LB_DIR/bench-build.txt" && ! "$LB_DIR/loadbalancer.dll" -nt "$LB_DIR/bench-build.txt" ]]; then
      echo "build=$(cat "$LB_DIR/bench-build.txt")"
    else
      echo "build=built $(date -u -r "$LB_DIR/loadbalancer.dll" '+%Y-%m-%d %H:%M UTC') outside bench/run.sh, source commit unknown"
    fi
  fi
  echo "lb_dir=$LB_DIR"
  echo "busy_start=$BUSY_START"
  echo "duration=$DURATION"
  echo "warmup=$WARMUP"
  echo "args=$ARGS_SHOWN"
} >"$WORK/meta.txt"

report_args=("$RESULTS" "$WORK/meta.txt")
((DOCS)) && report_args+=(--docs "$ROOT/docs/benchmarks.md")
python3 "$BENCH/report.py" "${report_args[@]}"
