#!/usr/bin/env bash
# bench/run.sh — TCP forwarder benchmark: our `loadbalancer forward` (splice, copy and io_uring
# engines) against a Go io.Copy proxy, HAProxy (splice and splice-auto), nginx stream and a direct
# connection, on loopback only, in several interleaved rounds whose medians are reported.
#
# Usage (from anywhere; run bench/install.sh once first):
#   bench/run.sh [--targets LIST] [--tests LIST] [--rounds N] [--duration SECONDS] [--warmup SECONDS]
#                [--quick] [--lb-dir DIR] [--build] [--no-docs] [--keep]
#
#   --targets   comma list of: direct, go, haproxy, haproxy-auto, nginx, lb-splice, lb-copy, lb-uring
#               (default: all eight; "splice", "copy" and "uring" are accepted for the lb-* ones)
#   --tests     comma list of: iperf1, iperf4, wrk-ka, wrk-close            (default: all four)
#   --rounds    how many times every test runs for every target             (default: 3)
#               Within a round all targets of one test run back to back, in an order that starts one
#               target further each round, so slow phases of a shared host hit every target alike;
#               the report gives each figure's median over the rounds and its spread (min–max).
#   --duration  seconds per measured test, for iperf3 -t and wrk -d          (default: 10)
#   --warmup    seconds of unmeasured load before each test                  (default: 2)
#   --quick     --duration 4 --warmup 2: all targets, tests and 3 rounds in about 15 minutes
#               on an idle machine (the default 10 s: about 25); the estimate is printed at the start
#   --wait-idle up to this many seconds, wait for the machine to be idle before starting  (default: 60)
#   --lb-dir    where the published forwarder is (loadbalancer.dll, and loadbalancer-forward that `loadbalancer forward`
#               becomes: docs/adr/0011-memory-footprint.md)                   (default: /tmp/bench-lb)
#   --build     dotnet publish src/Host into --lb-dir first (done anyway when the dll or loadbalancer-forward is missing)
#   --no-docs   do not rewrite the "TCP forwarder" results in docs/benchmarks.md
#   --keep      keep the work directory (configs, logs, raw results) instead of deleting it
#   --proxy-protocol v1|v2
#               every proxy sends a PROXY protocol header to the backend, which expects it (nginx
#               http "listen ... proxy_protocol"): ours with --proxy-protocol, HAProxy with
#               send-proxy / send-proxy-v2, nginx stream with "proxy_protocol on" (v1 only, nginx
#               has no v2 sender). Only the wrk tests (iperf3 cannot read a header), no direct or go
#               target (the backend needs the header; the Go proxy sends none), and --no-docs
#               implied: the figures are printed for docs/benchmarks.md, "PROXY protocol".
#
# Environment: BENCH_URING_ENGINE, the --engine value of the io_uring engine (default io_uring).
# lb-uring is skipped, with the reason printed, when the forwarder refuses that value or says it
# fell back to another engine — so the same script works before and after that engine lands.
#
# Examples:
#   bench/run.sh --quick                                    # full run, about 15 minutes, updates docs
#   bench/run.sh --targets direct,go,haproxy,nginx --no-docs  # peers only
#   bench/run.sh --targets lb-splice,haproxy --tests iperf1,wrk-ka --duration 5 --rounds 1 --no-docs
#   bench/run.sh --proxy-protocol v1                        # wrk through ours, HAProxy, nginx, all sending v1
#
# What it measures, per target, per test and per round (details in docs/benchmarks.md, "TCP forwarder"):
#   iperf1     iperf3 -t D, one stream          -> Gbit/s (receiver side), proxy CPU s and s per GB
#   iperf4     iperf3 -t D -P 4                 -> Gbit/s (receiver side), proxy CPU s and s per GB
#   wrk-ka     wrk -t2 -c64 -dD                 -> req/s, p99 latency, proxy CPU s and µs per request
#   wrk-close  wrk -t2 -c32 -dD, Connection: close -> the same as wrk-ka
# and for each test the proxy's peak RSS (VmHWM, summed over its processes).
#
# Every proxy is started fresh for each test, so CPU, RSS and JIT/GC state of one test do not
# leak into the next, and each listens on its own port (no bind races with TIME_WAIT leftovers;
# the 100 ports are reused in turn only after minutes). Everything binds to 127.0.0.1 ports
# 18080-18399; nothing leaves loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"

TARGETS="direct,go,haproxy,haproxy-auto,nginx,lb-splice,lb-copy,lb-uring"
TESTS="iperf1,iperf4,wrk-ka,wrk-close"
ROUNDS=3
DURATION=10
WARMUP=2
URING_ENGINE="${BENCH_URING_ENGINE:-io_uring}"
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
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --warmup) WARMUP="${2:?}"; shift 2 ;;
    --quick) DURATION=4; WARMUP=2; shift ;;
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
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 20 ]] || die "--rounds must be 1..20"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 && "$DURATION" -le 60 ]] || die "--duration must be 1..60"
[[ "$WARMUP" =~ ^[0-9]+$ && "$WARMUP" -le 30 ]] || die "--warmup must be 0..30"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ && "$WAIT_IDLE" -le 120 ]] || die "--wait-idle must be 0..120"

if [[ -n "$PROXY_PROTOCOL" ]]; then
  [[ "$PROXY_PROTOCOL" == v1 || "$PROXY_PROTOCOL" == v2 ]] || die "--proxy-protocol must be v1 or v2, not '$PROXY_PROTOCOL'"
  DOCS=0
  # The backend reads a header first, so it cannot be reached directly; iperf3 cannot read one.
  # The Go proxy has no PROXY protocol sender either.
  TARGETS=$(tr , '\n' <<<"$TARGETS" | grep -vx -e direct -e go | paste -sd, -)
  [[ "$PROXY_PROTOCOL" == v2 ]] && TARGETS=$(tr , '\n' <<<"$TARGETS" | grep -vx nginx | paste -sd, -)
  TESTS=$(tr , '\n' <<<"$TESTS" | grep -v '^iperf' | paste -sd, -)
  [[ -n "$TARGETS" && -n "$TESTS" ]] || die "--proxy-protocol leaves no target or no test (it drops direct, go, iperf3, and nginx for v2)"
  HTTP_BACKEND_PROXY_PROTOCOL=1
fi

IFS=, read -ra TARGET_LIST <<<"$TARGETS"
for i in "${!TARGET_LIST[@]}"; do
  case "${TARGET_LIST[$i]}" in
    splice) TARGET_LIST[$i]=lb-splice ;;
    copy) TARGET_LIST[$i]=lb-copy ;;
    uring|io_uring) TARGET_LIST[$i]=lb-uring ;;
    direct|go|haproxy|haproxy-auto|nginx|lb-splice|lb-copy|lb-uring) ;;
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
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [[ "$t" == "$1" ]] && return 0; done; return 1; }
drop_target() {  # TARGET REASON: leave TARGET out of this run, saying why
  local t keep=()
  for t in "${TARGET_LIST[@]}"; do [[ "$t" == "$1" ]] || keep+=("$t"); done
  TARGET_LIST=("${keep[@]}")
  SKIPPED+=("$1: $2")
  echo "   skipping $1: $2" >&2
}
SKIPPED=()
if has_target go; then command -v go >/dev/null || die "go not found (target go) — run bench/install.sh"; fi

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
# Under set -e a failing command ends the run with no word of which one; say it (-E: also inside
# functions). Only the script's own shell speaks: inside a command substitution a failure is the
# substitution's result, which its caller may well expect. The EXIT trap of lib.sh then cleans up.
set -E
trap '[[ $BASHPID == "$$" ]] && echo "bench/run.sh: stopped by a failing command (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# ---------------------------------------------------------------------------------------------
# Preflight: ports free, forwarder built, Go proxy built.
# Each run gets the next of 100 ports; a port comes round again only after 99 other runs (minutes,
# more than the 60 s a TIME_WAIT lasts), so no proxy ever binds next to the last one's leftovers.
PORT_SLOTS=100
proxy_port() { echo $((PROXY_PORT_BASE + $1 % PORT_SLOTS)); }
ALL_PORTS=("$HTTP_PORT" "$IPERF_PORT")
n_ports=$((${#TARGET_LIST[@]} * ${#TEST_LIST[@]} * ROUNDS + 1))
((n_ports > PORT_SLOTS)) && n_ports=$PORT_SLOTS
for ((i = 0; i < n_ports; i++)); do ALL_PORTS+=("$(proxy_port "$i")"); done
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

# The Go peer is built from bench/goproxy (standard library only) into the work directory, with
# its own build cache and GOPATH there: nothing of the user's Go setup is read or written, it works
# as root on a clean machine and offline (GOPROXY=off: there is nothing to download), and the
# cleanup removes it all. GOTOOLCHAIN=local: a newer go command must not fetch another toolchain.
GO_BIN=""
if has_target go; then
  mkdir -p "$WORK/go"
  if run_tool 300 "$WORK/go/build.log" "$WORK/go/build.log" env -C "$BENCH/goproxy" \
    GOCACHE="$WORK/go/cache" GOPATH="$WORK/go/path" GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-modcacherw CGO_ENABLED=0 \
    go build -trimpath -o "$WORK/go/goproxy" .; then
    GO_BIN="$WORK/go/goproxy"
  else
    tail -20 "$WORK/go/build.log" >&2
    die "go build of bench/goproxy failed (log above)"
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
  local target="$1" port="$2" backend="$3" dir="$WORK/$1-$2-${RUN_ID:-probe}"
  PROXY_PID=""
  PROXY_LOG=""
  [[ "$target" == direct ]] && return 0
  mkdir -p "$dir"
  case "$target" in
    haproxy|haproxy-auto)
      # haproxy: splice-request + splice-response (always splice): HAProxy's pure splice path, the
      # one our splice engine is compared with. haproxy-auto: splice-auto, where HAProxy decides per
      # transfer and copies small messages through its buffers — its best mode for mixed traffic,
      # the way past the per-request splice cost (docs/benchmarks.md). nbthread = cores for both.
      local splice_opts="  option splice-request
  option splice-response"
      [[ "$target" == haproxy-auto ]] && splice_opts="  option splice-auto"
      cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread $NCPU
  maxconn 4096  # ×2 sockets + splice pipes must fit the 20000 fd hard limit seen here
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
$splice_opts
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
    go)
      start_bg "$dir/out.log" "$GO_BIN" -listen "$HOST:$port" -backend "$HOST:$backend"
      ;;
    lb-splice|lb-copy|lb-uring)
      local engine="${target#lb-}"
      [[ "$target" == lb-uring ]] && engine=$URING_ENGINE
      start_bg "$dir/out.log" dotnet "$LB_DIR/loadbalancer.dll" forward \
        --listen "$HOST:$port" --backend "$HOST:$backend" --engine "$engine" "${LB_NO_HC[@]}" \
        ${PROXY_PROTOCOL:+--proxy-protocol "$PROXY_PROTOCOL"}
      ;;
  esac
  PROXY_PID=$LAST_PID
  PROXY_LOG="$dir/out.log"
  if ! wait_listen "$port" "$PROXY_PID" 15; then
    echo "   $target did not start listening on $HOST:$port; its output:" >&2
    tail -20 "$dir/out.log" | sed 's/^/     /' >&2
    return 1
  fi
}

# Why the forwarder's output shows it is not running the io_uring engine, or nothing when it is.
# It names the engine it really uses in its "Listening on … (X engine, …)" log line and the one it was
# asked for in "forwarding … (policy, x; …)"; an engine that cannot run logs a warning such as
# "splice engine unavailable (…); using the copy engine". Any of these naming another engine, or a
# fallback warning, means the figures would be another engine's under the lb-uring name.
uring_fallback_reason() {  # LOGFILE
  local line
  line=$(grep -m1 -iE 'engine.*(fall(s|ing)? ?back|unavailable)|(fall(s|ing)? ?back|unavailable).*engine|using the [a-z_]+ engine' "$1" 2>/dev/null) &&
    { echo "it logged:${line##*]}"; return; }
  line=$(grep -m1 -oiE 'Listening on .*\(([a-z_-]+) engine' "$1" 2>/dev/null) &&
    ! grep -qi 'uring' <<<"${line##*(}" && { echo "it logged that it listens with the ${line##*(}"; return; }
  line=$(grep -m1 -oE '^forwarding .*\([^,]*, [^;]*;' "$1" 2>/dev/null) &&
    ! grep -qi 'uring' <<<"${line##*, }" && { echo "it says it forwards with: ${line##*, }"; return; }
  return 0
}

stop_proxy() {
  [[ -n "$PROXY_PID" ]] || return 0
  stop_tree "$PROXY_PID"
  forget "$PROXY_PID"
  PROXY_PID=""
}

# Runs one measured test; appends a line to $RESULTS (tab separated; report.py reads it):
#   target test value bytes requests cpu_s rss_kb errors other_cores round p99_ms
run_test() {
  local target="$1" test="$2" idx="$3" round="$4" port backend cpu0 cpu1 rss value bytes requests errors p99
  local log="$WORK/logs/$target-$test-r$round"
  RUN_ID="r$round-$test"
  case "$test" in iperf*) backend=$IPERF_PORT ;; *) backend=$HTTP_PORT ;; esac
  if [[ "$target" == direct ]]; then port=$backend; else port=$(proxy_port "$idx"); fi
  if ! start_proxy "$target" "$port" "$backend"; then
    stop_proxy
    printf '%s\t%s\t\t\t\t\t\t%s\t\t%s\t\n' "$target" "$test" "did not start" "$round" >>"$RESULTS"
    printf '   %-12s %-9s %10s\n' "$target" "$test" "DID NOT START"
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
  value=""; bytes=""; requests=""; errors=""; p99=""
  case "$test" in
    iperf*)
      if run_tool $((DURATION + 20)) "$log.json" "$log.err" iperf3 -c "$HOST" -p "$port" -t "$DURATION" -P "$iperf_p" -J; then
        # An interrupted test can exit 0 with an "error" and no sums: record it, do not stop the run.
        # A command substitution, not < <(…): a Ctrl+C lands after it, never while an orphaned
        # reader still looks into the work directory that the cleanup is removing.
        local sums
        sums=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))["end"]["sum_received"]
    print("%.2f %d" % (d["bits_per_second"] / 1e9, d["bytes"]))
except Exception:
    print("")' "$log.json") || true
        read -r value bytes <<<"$sums" || true
        [[ -n "$value" ]] || errors="iperf3 gave no receiver totals (see $log.json)"
      else
        errors="iperf3 failed: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error","?"))' "$log.json" 2>/dev/null || head -c 200 "$log.err")"
      fi
      ;;
    wrk*)
      # --latency: wrk prints the 50/75/90/99 % latency percentiles; the 99 % one is kept.
      if run_tool $((DURATION + 20)) "$log.txt" "$log.txt" wrk "${wrk_args[@]}" --latency -d"${DURATION}s" "http://$HOST:$port/"; then
        value=$(awk '/^Requests\/sec:/ {print $2}' "$log.txt")
        requests=$(awk '/requests in/ {print $1}' "$log.txt")
        # "     99%    1.23ms" (units us, ms, s; wrk's own format, e.g. 812.00us, 1.02s) -> milliseconds
        p99=$(awk '$1 == "99%" {v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
          f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
          if (f > 0) printf "%.3f", v * f; exit}' "$log.txt")
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
  # An engine may give up only when it meets its first connection; then these were another
  # engine's figures and must not stand under lb-uring's name.
  local fell_back=""
  [[ "$target" == lb-uring ]] && fell_back=$(uring_fallback_reason "$PROXY_LOG")
  stop_proxy
  if [[ -n "$fell_back" ]]; then
    value=""; p99=""
    errors="${errors:+$errors; }not the io_uring engine, figures dropped: $fell_back"
  fi
  local cpu_s other
  cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
  other=$(awk -v a="$f0" -v b="$f1" -v hz="$CLK_TCK" -v s="$t0" -v e="$t1" \
    'BEGIN {d = (b - a) / hz / (e - s); printf "%.2f", d < 0 ? 0 : d}')
  [[ "$target" == direct ]] && { cpu_s=""; rss=""; }
  [[ -n "$fell_back" ]] && { cpu_s=""; rss=""; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$test" "${value}" "${bytes}" "${requests}" \
    "${cpu_s}" "${rss}" "${errors}" "${other}" "$round" "$p99" >>"$RESULTS"
  printf '   %-12s %-9s %10s %-6s %s proxy cpu %5s s  peak rss %7s KiB  others %s cores  %s\n' "$target" "$test" \
    "${value:-FAILED}" "$([[ $test == iperf* ]] && echo Gbit/s || echo req/s)" \
    "$([[ $test == wrk* ]] && printf ' p99 %8s ms ' "${p99:--}")" "${cpu_s:--}" "${rss:--}" "$other" "$errors"
  # Sockets from the test drain (FIN/TIME_WAIT handling) before the next one starts.
  sleep 1
}

# ---------------------------------------------------------------------------------------------
# lb-uring: ask the forwarder once for the io_uring engine, before anything is measured. A forwarder
# without it refuses the value and exits ("must be splice or copy"); one that has it but cannot use
# it here (old kernel, seccomp) falls back and says so. Either way the target is left out, with the
# reason, rather than failing every test or reporting another engine's figures as io_uring's.
RUN_IDX=0  # counts proxy starts, for their ports
if has_target lb-uring; then
  RUN_ID=uring-probe
  probe_port=$(proxy_port "$RUN_IDX"); RUN_IDX=$((RUN_IDX + 1))
  if ! start_proxy lb-uring "$probe_port" "$HTTP_PORT" 2>/dev/null; then
    reason=$(grep -v '^[0-9-]* [0-9:.]* [a-z]*: ' "$PROXY_LOG" | grep -m1 . || tail -1 "$PROXY_LOG")
    stop_proxy
    drop_target lb-uring "the forwarder refused --engine $URING_ENGINE: ${reason:-no output}"
  else
    # One request through it: an engine set up lazily meets its first connection here.
    python3 - "$HOST" "$probe_port" >/dev/null 2>&1 <<'EOF' || true
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
while s.recv(4096):
    pass
EOF
    sleep 0.3
    reason=$(uring_fallback_reason "$PROXY_LOG")
    stop_proxy
    [[ -z "$reason" ]] || drop_target lb-uring "--engine $URING_ENGINE is not the io_uring engine: $reason"
  fi
  [[ ${#TARGET_LIST[@]} -gt 0 ]] || die "no target left"
fi

# ---------------------------------------------------------------------------------------------
# How long this takes, said before it starts: per run the test and its warm-up, plus about 3 s to
# start the proxy, pause between phases (0.5 + 1 s), read /proc and stop it; the .NET runtime takes
# 1.5 s more to start. Measured: 297 s for 28 runs of 3 + 2 s on a machine under a load of 12,
# i.e. 5.6 s each beyond the test; less when idle. After the first round the estimate is redone
# from the time that round took.
estimate_s() {
  local t n_lb=0
  for t in "${TARGET_LIST[@]}"; do [[ "$t" == lb-* ]] && n_lb=$((n_lb + 1)); done
  echo $((ROUNDS * ${#TEST_LIST[@]} * (${#TARGET_LIST[@]} * (DURATION + WARMUP + 3) + n_lb * 3 / 2)))
}

wait_until_idle "$WAIT_IDLE"

EST=$(estimate_s)
echo "== bench/run.sh: targets=${TARGET_LIST[*]} tests=${TEST_LIST[*]} rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s"
echo "== about $(((EST + 59) / 60)) min ($EST s) for $((ROUNDS * ${#TEST_LIST[@]} * ${#TARGET_LIST[@]})) runs; until about $(date -d "+$EST sec" '+%H:%M:%S')"
((${#SKIPPED[@]})) && printf '== skipped: %s\n' "${SKIPPED[@]}"
START=$SECONDS
# Round-major, then test-major: within a round all targets of one test run back to back, so the
# figures compared with each other are close in time; the order of the targets starts one further
# each round (round r begins with target r mod n), so no target is always first after a switch of
# test or always last, and slow and fast phases of a shared VM host (seen here: ±30 % between
# identical runs minutes apart) fall on every target alike; the report then takes medians.
n=${#TARGET_LIST[@]}
for ((round = 1; round <= ROUNDS; round++)); do
  for test in "${TEST_LIST[@]}"; do
    echo "-- round $round/$ROUNDS, $test"
    for ((k = 0; k < n; k++)); do
      target=${TARGET_LIST[$(((round - 1 + k) % n))]}
      run_test "$target" "$test" "$RUN_IDX" "$round"
      RUN_IDX=$((RUN_IDX + 1))
    done
  done
  if ((round == 1 && ROUNDS > 1)); then
    left=$(((SECONDS - START) * (ROUNDS - 1)))
    echo "== round 1 took $((SECONDS - START)) s; the other $((ROUNDS - 1)) should take about $(((left + 59) / 60)) min, until about $(date -d "+$left sec" '+%H:%M:%S')"
  fi
done
echo "== measured in $((SECONDS - START)) s (estimated $EST s)"

# Environment for the report: what ran, where, with which versions.
{
  machine_facts
  echo "haproxy=$(haproxy -v 2>/dev/null | awk 'NR==1 {print $3}')"
  echo "nginx=$(nginx -v 2>&1 | sed 's|.*nginx/||')"
  echo "iperf3=$(iperf3 --version 2>/dev/null | awk 'NR==1 {print $2}')"
  # wrk -v prints its version with the usage and exits 1.
  echo "wrk=$(wrk -v 2>&1 | awk 'NR==1 {print $2}' || true)"
  if [[ -n "$GO_BIN" ]]; then echo "go=$(go version | awk '{print $3}')"; fi
  if ((need_lb)); then forwarder_facts; fi
  echo "lb_dir=$LB_DIR"
  echo "busy_start=$BUSY_START"
  echo "duration=$DURATION"
  echo "rounds=$ROUNDS"
  echo "targets=${TARGET_LIST[*]}"
  for s in "${SKIPPED[@]}"; do echo "skipped=$s"; done
  echo "warmup=$WARMUP"
  echo "args=$ARGS_SHOWN"
  if [[ -n "$PROXY_PROTOCOL" ]]; then echo "proxy_protocol=$PROXY_PROTOCOL"; fi
} >"$WORK/meta.txt"

report_args=("$RESULTS" "$WORK/meta.txt")
((DOCS)) && report_args+=(--docs "$ROOT/docs/benchmarks.md")
python3 "$BENCH/report.py" "${report_args[@]}"
