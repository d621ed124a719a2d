#!/usr/bin/env bash
# bench/scrape-overhead.sh — what a Prometheus scraper polling /metrics every second costs the forwarder:
# wrk keep-alive and connection-per-request req/s and the daemon's CPU, with and without the scraper,
# and the same comparison of "without" against "without" to show the noise.
#
# Usage (from anywhere; run bench/install.sh once first):
#   bench/scrape-overhead.sh [--rounds N] [--duration SECONDS] [--services N] [--interval SECONDS]
#                            [--tests LIST] [--lb-dir DIR] [--build] [--docs] [--keep]
#
#   --rounds    rounds per test; each round measures the three conditions once       (default: 6)
#   --warmup    seconds of load, scraped, before the first round of a test            (default: 15)
#   --duration  seconds per measured window (wrk -d)                                  (default: 10)
#   --services  Services in the daemon's file: the measured one and N-1 idle ones,
#               so that a scrape is as large as a small installation's               (default: 50)
#   --interval  seconds between two scrapes                                           (default: 1)
#   --tests     comma list of: wrk-ka, wrk-close                                      (default: both)
#   --lb-dir    where the published daemon is (loadbalancer.dll)                      (default: /tmp/bench-lb)
#   --build     dotnet publish src/Host into --lb-dir first (done anyway when the dll is missing)
#   --docs      write the results between their markers in docs/benchmarks.md
#   --keep      keep the work directory (Services file, logs, raw results)
#
# The three conditions, in each round in a rotated order (off, on, control / on, control, off /
# control, off, on), so that none always runs first or after the same neighbour:
#   off       no scraper
#   on        a scraper GETs /metrics every --interval seconds over one keep-alive connection, as
#             Prometheus does; it starts 2 s before the window so that the window holds only steady scrapes
#   control   no scraper again: "control" against "off" is the A-against-A noise that "on" against "off"
#             must be compared with
# Every window is preceded by the same 2 s pause, with or without a scraper. One daemon serves the whole
# run of a test (as in production, where the scraper meets a warm daemon); it is warmed up with the
# load and with scrapes (--warmup) before the first round.
#
# Afterwards the idle daemon's CPU with and without a scraper (4 windows of 20 s each way, alternated)
# gives the cost of one scrape when nothing else runs; there the scraper asks every 0.35 s, just past
# the exporter's 300 ms response cache, so that every scrape collects and the cost stands out of the
# idle daemon's own variation.
#
# Everything stays on loopback: the backend on 127.0.0.1:18080, the Services on 127.0.118.1 ports
# 18400.., the admin endpoint on 127.0.0.1:18390. The daemon adds 127.0.118.1 to lo and removes it
# when it stops.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"

ROUNDS=6
DURATION=10
SERVICES=50
INTERVAL=1
TESTS="wrk-ka,wrk-close"
LB_DIR=/tmp/bench-lb
BUILD=0
DOCS=0
KEEP=0
WAIT_IDLE=60
WARMUP=15
PAUSE=2
IDLE_SECONDS=20
IDLE_WINDOWS=4
# Scrapes while idle come faster than --interval, to lift their cost above the idle daemon's own
# variation, but just past the exporter's 300 ms response cache, so that each one collects afresh.
IDLE_INTERVAL=0.35
ARGS_SHOWN="$*"

die() { echo "bench/scrape-overhead.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --warmup) WARMUP="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --services) SERVICES="${2:?}"; shift 2 ;;
    --interval) INTERVAL="${2:?}"; shift 2 ;;
    --tests) TESTS="${2:?}"; shift 2 ;;
    --lb-dir) LB_DIR="${2:?}"; shift 2 ;;
    --build) BUILD=1; shift ;;
    --docs) DOCS=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: '$1' (see --help)" ;;
  esac
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 30 ]] || die "--rounds must be 1..30, not '$ROUNDS'"
[[ "$WARMUP" =~ ^[0-9]+$ && "$WARMUP" -ge 1 && "$WARMUP" -le 120 ]] || die "--warmup must be 1..120, not '$WARMUP'"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 2 && "$DURATION" -le 60 ]] || die "--duration must be 2..60, not '$DURATION'"
[[ "$SERVICES" =~ ^[0-9]+$ && "$SERVICES" -ge 1 && "$SERVICES" -le 500 ]] || die "--services must be 1..500, not '$SERVICES'"
[[ "$INTERVAL" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v i="$INTERVAL" 'BEGIN {exit !(i >= 0.1 && i <= 10)}' ||
  die "--interval must be 0.1..10 seconds, not '$INTERVAL'"
IFS=, read -ra TEST_LIST <<<"$TESTS"
for t in "${TEST_LIST[@]}"; do
  case "$t" in wrk-ka|wrk-close) ;; *) die "unknown test: '$t' (wrk-ka, wrk-close)" ;; esac
done
for tool in nginx wrk python3 ss timeout pgrep dotnet; do
  command -v "$tool" >/dev/null || die "$tool not found — run bench/install.sh"
done

CLK_TCK=$(getconf CLK_TCK)
HOST=127.0.0.1
HTTP_PORT=18080
ADMIN="127.0.0.1:18390"
SERVICE_IP=127.0.118.1
SERVICE_PORT=18400
POOL=127.0.118.0/24

WORK=$(mktemp -d /tmp/lb-scrape.XXXXXX)
RESULTS="$WORK/windows.tsv"
IDLE_RESULTS="$WORK/idle.tsv"
printf 'test\tround\tcondition\treq_s\trequests\tdaemon_cpu_s\tscrapes\tscrape_ms\tscrape_bytes\tscraper_cores\tothers_cores\terrors\n' >"$RESULTS"
printf 'window\tcondition\tseconds\tdaemon_cpu_s\tscrapes\n' >"$IDLE_RESULTS"

source "$BENCH/lib.sh"

for p in "$HTTP_PORT" "${ADMIN##*:}" $(seq "$SERVICE_PORT" $((SERVICE_PORT + SERVICES - 1))); do
  port_listening "$p" && die "port $p is already in use (ss -ltnp 'sport = :$p')"
done
ip -o addr show dev lo | grep -q " $SERVICE_IP/" &&
  die "$SERVICE_IP is already on lo (a daemon still running?); remove it with: ip addr del $SERVICE_IP/32 dev lo"
publish_forwarder "$BUILD"

# ---------------------------------------------------------------------------------------------
# The scraper: one keep-alive connection, a GET every INTERVAL seconds on a fixed schedule (a slow
# answer does not shift the next one), each answer read in full. It runs for SECONDS, then writes each
# scrape's start (epoch seconds), time and size, and the failures; scrape_summary picks a window's.
cat >"$WORK/scraper.py" <<'EOF'
import http.client, json, sys, time
host, port = sys.argv[1].rsplit(":", 1)
interval, seconds, out = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
scrapes, failures = [], []
connection = None
start = time.monotonic()
n = 0
while start + n * interval - start <= seconds:
    time.sleep(max(0.0, start + n * interval - time.monotonic()))
    n += 1
    at, t0 = time.time(), time.monotonic()
    try:
        if connection is None:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            failures.append("HTTP %d" % response.status)
            continue
        scrapes.append({"at": at, "ms": (time.monotonic() - t0) * 1000, "bytes": len(body)})
    except Exception as e:  # a failed scrape is reported, and the next one reconnects
        failures.append(type(e).__name__)
        connection = None
json.dump({"scrapes": scrapes, "failures": failures}, open(out, "w"))
EOF

# FILE T0 T1 -> "COUNT MEDIAN_MS MEDIAN_BYTES FAILURES": the scrapes that started within [T0, T1), and
# every failure of the scraper's run (one during the pause counts as much as one in the window).
cat >"$WORK/scrape_summary.py" <<'EOF'
import json, statistics, sys
data = json.load(open(sys.argv[1]))
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
inside = [s for s in data["scrapes"] if t0 <= s["at"] < t1]
print(len(inside),
      "%.2f" % statistics.median(s["ms"] for s in inside) if inside else "-",
      int(statistics.median(s["bytes"] for s in inside)) if inside else "-",
      ",".join(data["failures"]) or "-")
EOF

SCRAPER_PID=""
start_scraper() {  # INTERVAL SECONDS OUT
  start_bg "$WORK/logs/scraper.log" python3 "$WORK/scraper.py" "$ADMIN" "$1" "$2" "$3"
  SCRAPER_PID=$LAST_PID
}
finish_scraper() {  # waits (bounded) for the scraper to end on its own, then forgets it
  [[ -n "$SCRAPER_PID" ]] || return 0
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$SCRAPER_PID" 2>/dev/null || break; sleep 0.1; done
  stop_tree "$SCRAPER_PID"
  forget "$SCRAPER_PID"
  SCRAPER_PID=""
}
# How long a scraper runs for a window of SECONDS: the pause, the window, and 3 s more, so that it
# is still alive (and its CPU readable) when the window ends.
scraper_seconds() { awk -v p="$PAUSE" -v d="$1" 'BEGIN {print p + d + 3}'; }

# ---------------------------------------------------------------------------------------------
# The daemon's Services: the measured one on $SERVICE_IP:$SERVICE_PORT and SERVICES-1 idle ones that
# share the IP on the next ports, all with the nginx backend. Its CPU is read for the whole process.
write_services() {
  local i
  for ((i = 0; i < SERVICES; i++)); do
    cat <<EOF
apiVersion: v1
kind: Service
metadata:
  name: svc-$i
  namespace: bench
  annotations:
    littlelb.io/backends: "$HOST:$HTTP_PORT"
spec:
  type: LoadBalancer
  loadBalancerIP: $SERVICE_IP
  ports:
    - name: http
      port: $((SERVICE_PORT + i))
      protocol: TCP
---
EOF
  done
}

DAEMON_PID=""
start_daemon() {
  rm -f "$WORK/state.json"
  start_bg "$WORK/logs/daemon.log" dotnet "$LB_DIR/loadbalancer.dll" standalone "$WORK/services.yaml" \
    --state-file "$WORK/state.json" --restricted-cidr "$POOL" --admin-address "$ADMIN"
  DAEMON_PID=$LAST_PID
  local deadline=$((SECONDS + 60)) served=0
  while ((SECONDS < deadline)); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { tail -20 "$WORK/logs/daemon.log" >&2; die "the daemon exited at start"; }
    served=$(curl -sf "http://$ADMIN/metrics" 2>/dev/null | awk '/^littlelb_services\{/ && /state="served"/ {print $NF}' || true)
    [[ "${served:-0}" == "$SERVICES" ]] && port_listening "$((SERVICE_PORT + SERVICES - 1))" && return 0
    sleep 0.2
  done
  tail -20 "$WORK/logs/daemon.log" >&2
  die "the daemon did not serve $SERVICES Services within 60 s (last scrape said ${served:-nothing})"
}
stop_daemon() {
  [[ -n "$DAEMON_PID" ]] || return 0
  stop_tree "$DAEMON_PID"
  forget "$DAEMON_PID"
  DAEMON_PID=""
}

set_wrk_args() {  # TEST: sets WRK_ARGS, the load of the test as bench/run.sh applies it
  case "$1" in
    wrk-ka) WRK_ARGS=(-t2 -c64) ;;
    wrk-close) WRK_ARGS=(-t2 -c32 -H 'Connection: close') ;;
  esac
}

# One measured window; appends a line to $RESULTS.
measure() {  # TEST ROUND CONDITION
  local test="$1" round="$2" condition="$3" log="$WORK/logs/$1-$2-$3"
  if [[ "$condition" == on ]]; then
    start_scraper "$INTERVAL" "$(scraper_seconds "$DURATION")" "$log.scrapes.json"
  fi
  sleep "$PAUSE"
  local c0 c1 s0=0 s1=0 f0 f1 t0 t1 value="" requests="" errors=""
  c0=$(cpu_ticks "$DAEMON_PID"); [[ -n "$SCRAPER_PID" ]] && s0=$(cpu_ticks "$SCRAPER_PID")
  f0=$(foreign_ticks); t0=$(date +%s.%N)
  if run_tool $((DURATION + 20)) "$log.txt" "$log.txt" wrk "${WRK_ARGS[@]}" -d"${DURATION}s" "http://$SERVICE_IP:$SERVICE_PORT/"; then
    value=$(awk '/^Requests\/sec:/ {print $2}' "$log.txt")
    requests=$(awk '/requests in/ {print $1}' "$log.txt")
    errors=$(grep -E 'Socket errors|Non-2xx' "$log.txt" | tr -s ' ' | paste -sd';' - || true)
  else
    errors="wrk failed: $(tail -c 200 "$log.txt" | tr '\n' ' ')"
  fi
  c1=$(cpu_ticks "$DAEMON_PID"); [[ -n "$SCRAPER_PID" ]] && s1=$(cpu_ticks "$SCRAPER_PID")
  f1=$(foreign_ticks); t1=$(date +%s.%N)
  kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon died during $test round $round ($condition); log: $WORK/logs/daemon.log"
  local scrapes="" scrape_ms="" scrape_bytes="" failures=""
  if [[ "$condition" == on ]]; then
    finish_scraper
    if [[ -f "$log.scrapes.json" ]]; then
      read -r scrapes scrape_ms scrape_bytes failures < <(python3 "$WORK/scrape_summary.py" "$log.scrapes.json" "$t0" "$t1")
      [[ "$failures" == - ]] || errors="${errors:+$errors; }failed scrapes: $failures"
    else
      errors="${errors:+$errors; }the scraper wrote no result ($(tail -c 200 "$WORK/logs/scraper.log" | tr '\n' ' '))"
    fi
  fi
  local cpu scraper others
  cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / hz}')
  scraper=$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.3f", (b - a) / hz / (e - s)}')
  others=$(awk -v a="$f0" -v b="$f1" -v hz="$CLK_TCK" -v s="$t0" -v e="$t1" 'BEGIN {d = (b - a) / hz / (e - s); printf "%.2f", d < 0 ? 0 : d}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$round" "$condition" "$value" "$requests" "$cpu" \
    "$scrapes" "$scrape_ms" "$scrape_bytes" "$scraper" "$others" "$errors" >>"$RESULTS"
  printf '   %-9s round %-2s %-7s %10s req/s  daemon cpu %5s s  scrapes %-3s %6s ms %7s B  others %s cores  %s\n' \
    "$test" "$round" "$condition" "${value:-FAILED}" "$cpu" "${scrapes:--}" "${scrape_ms:--}" "${scrape_bytes:--}" "$others" "$errors"
}

# The idle daemon: CPU over SECONDS with or without the scraper; appends a line to $IDLE_RESULTS.
measure_idle() {  # WINDOW CONDITION SECONDS
  local window="$1" condition="$2" seconds="$3" out="$WORK/logs/idle-$1-$2.scrapes.json" c0 c1 t0 t1 cpu
  local scrapes=0 ms bytes failures
  if [[ "$condition" == on ]]; then start_scraper "$IDLE_INTERVAL" "$(scraper_seconds "$seconds")" "$out"; fi
  sleep "$PAUSE"
  c0=$(cpu_ticks "$DAEMON_PID"); t0=$(date +%s.%N)
  sleep "$seconds"
  c1=$(cpu_ticks "$DAEMON_PID"); t1=$(date +%s.%N)
  if [[ "$condition" == on ]]; then
    finish_scraper
    read -r scrapes ms bytes failures < <(python3 "$WORK/scrape_summary.py" "$out" "$t0" "$t1")
    [[ "$failures" == - ]] || die "scrapes failed while idle: $failures"
  fi
  cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.3f", (b - a) / hz}')
  printf '%s\t%s\t%s\t%s\t%s\n' "$window" "$condition" "$seconds" "$cpu" "$scrapes" >>"$IDLE_RESULTS"
  echo "   idle window $window $condition: daemon cpu $cpu s in $seconds s, $scrapes scrapes"
}

# ---------------------------------------------------------------------------------------------
mkdir -p "$WORK/logs"
write_services >"$WORK/services.yaml"
start_http_backend
wait_until_idle "$WAIT_IDLE"
echo "== bench/scrape-overhead.sh: tests=${TEST_LIST[*]} rounds=$ROUNDS duration=${DURATION}s services=$SERVICES interval=${INTERVAL}s"
START=$SECONDS
CONDITIONS=(off on control)
for test in "${TEST_LIST[@]}"; do
  echo "-- $test"
  start_daemon
  set_wrk_args "$test"
  # Warm-up: the forwarding path and the exporter's collection path are jitted before any window.
  start_scraper "$INTERVAL" "$WARMUP" "$WORK/logs/$test-warmup.scrapes.json"
  run_tool $((WARMUP + 20)) "$WORK/logs/$test-warmup.txt" "$WORK/logs/$test-warmup.txt" wrk "${WRK_ARGS[@]}" -d"${WARMUP}s" "http://$SERVICE_IP:$SERVICE_PORT/" || true
  finish_scraper
  for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < 3; k++)); do
      measure "$test" "$round" "${CONDITIONS[$(((round - 1 + k) % 3))]}"
    done
  done
  if [[ "$test" == "${TEST_LIST[-1]}" ]]; then
    echo "-- idle daemon, $SERVICES Services"
    sleep 10  # the last window's connections close, and what the runtime does after a load settles
    for ((window = 1; window <= IDLE_WINDOWS; window++)); do
      if ((window % 2)); then measure_idle "$window" off "$IDLE_SECONDS"; measure_idle "$window" on "$IDLE_SECONDS"
      else measure_idle "$window" on "$IDLE_SECONDS"; measure_idle "$window" off "$IDLE_SECONDS"; fi
    done
  fi
  stop_daemon
done
echo "== measured in $((SECONDS - START)) s"

{
  machine_facts
  forwarder_facts
  echo "wrk=$(wrk -v 2>&1 | awk 'NR==1 {print $2}')"
  echo "nginx=$(nginx -v 2>&1 | sed 's|.*nginx/||')"
  echo "busy_start=$BUSY_START"
  echo "rounds=$ROUNDS"
  echo "duration=$DURATION"
  echo "services=$SERVICES"
  echo "interval=$INTERVAL"
  echo "idle_interval=$IDLE_INTERVAL"
  echo "warmup=$WARMUP"
  echo "args=$ARGS_SHOWN"
} >"$WORK/meta.txt"

report_args=("$RESULTS" "$IDLE_RESULTS" "$WORK/meta.txt")
((DOCS)) && report_args+=(--docs "$ROOT/docs/benchmarks.md")
python3 "$BENCH/scrape_report.py" "${report_args[@]}"
