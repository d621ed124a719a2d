#!/usr/bin/env bash
# bench/udp.sh — UDP forwarder benchmark: our forwarder (a UDP Service of the standalone mode) against nginx stream
# UDP and a direct path, on loopback only, in the same run.
#
# Usage (run bench/install.sh once first):
#   bench/udp.sh [--duration SECONDS] [--rounds N] [--lb-dir DIR] [--build] [--keep]
#
# What it measures: iperf3 -u -b 0 (the client sends as fast as it can, one direction) with datagrams of 64 and 1400
# bytes, through each target to one iperf3 server. Reported from the receiving side: datagrams/s received, Mbit/s
# received, the share lost, and the proxy's CPU seconds per million datagrams received. iperf3's control connection
# is TCP on the same port, so each proxy forwards TCP and UDP there (our Service has both ports).
# Targets: direct (the client talks to the server), lb (loadbalancer standalone, a Service with TCP+UDP 18612),
# nginx (stream: listen ... udp; proxy_pass; proxy_responses left unlimited). Rounds alternate the targets.
# Everything binds to 127.0.0.1 ports 18611-18613 and 127.0.120.250; nothing leaves loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
DURATION=5
ROUNDS=2
LB_DIR=/tmp/bench-lb-udp
BUILD=0
KEEP=0

die() { echo "bench/udp.sh: $*" >&2; exit 1; }
while (($#)); do
  case "$1" in
    --duration) DURATION="${2:?}"; shift 2 ;;
    --rounds) ROUNDS="${2:?}"; shift 2 ;;
    --lb-dir) LB_DIR="${2:?}"; shift 2 ;;
    --build) BUILD=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 && "$DURATION" -le 60 ]] || die "--duration must be 1..60"
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 10 ]] || die "--rounds must be 1..10"
for tool in nginx iperf3 python3 ss timeout dotnet; do command -v "$tool" >/dev/null || die "$tool not found — run bench/install.sh"; done
[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || die "nginx stream module missing — run bench/install.sh"

HOST=127.0.0.1
SERVER_PORT=18611
LB_IP=127.0.120.250
LB_PORT=18612
NGINX_PORT=18613
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/lb-bench-udp.XXXXXX)
mkdir -p "$WORK/logs"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
source "$BENCH/lib.sh"

publish_forwarder "$BUILD"

start_bg "$WORK/logs/iperf3-server.log" iperf3 -s -B "$HOST" -p "$SERVER_PORT"
wait_listen "$SERVER_PORT" "$LAST_PID" 10 || die "iperf3 server did not start"

start_target() {  # TARGET: starts it, sets PROXY_PID (empty for direct) and TARGET_ADDR/TARGET_PORT
  local target="$1" dir="$WORK/$1"
  mkdir -p "$dir"
  PROXY_PID=
  case "$target" in
    direct) TARGET_ADDR=$HOST; TARGET_PORT=$SERVER_PORT ;;
    nginx)
      TARGET_ADDR=$HOST; TARGET_PORT=$NGINX_PORT
      cat >"$dir/nginx.conf" <<NGINX
worker_processes auto;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
stream {
  server { listen $HOST:$NGINX_PORT; proxy_pass $HOST:$SERVER_PORT; }
  server { listen $HOST:$NGINX_PORT udp; proxy_pass $HOST:$SERVER_PORT; proxy_timeout 10s; }
}
NGINX
      start_bg "$dir/out.log" nginx -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;'
      PROXY_PID=$LAST_PID
      ;;
    lb)
      TARGET_ADDR=$LB_IP; TARGET_PORT=$LB_PORT
      cat >"$dir/services.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: iperf
  annotations:
    littlelb.io/backends: "$HOST:$SERVER_PORT"
    littlelb.io/health-check-enabled: "false"
spec:
  type: LoadBalancer
  ports:
    - {name: control, port: $LB_PORT, protocol: TCP}
    - {name: data, port: $LB_PORT, protocol: UDP}
YAML
      start_bg "$dir/out.log" dotnet "$LB_DIR/loadbalancer.dll" standalone "$dir/services.yaml" \
        --state-file "$dir/state.json" --restricted-cidr "$LB_IP" --admin-address none
      PROXY_PID=$LAST_PID
      ;;
  esac
  if [[ -n "$PROXY_PID" ]]; then
    local i
    for ((i = 0; i < 150; i++)); do
      [[ -n "$(ss -Hlun "src $TARGET_ADDR:$TARGET_PORT" 2>/dev/null)" && -n "$(ss -Hltn "src $TARGET_ADDR:$TARGET_PORT" 2>/dev/null)" ]] && return 0
      kill -0 "$PROXY_PID" 2>/dev/null || break
      sleep 0.1
    done
    tail -20 "$dir/out.log" >&2
    die "$target did not listen on $TARGET_ADDR:$TARGET_PORT (TCP and UDP)"
  fi
}

stop_target() {
  if [[ -n "$PROXY_PID" ]]; then stop_tree "$PROXY_PID"; forget "$PROXY_PID"; fi
}

measure() {  # TARGET SIZE ROUND
  local target="$1" size="$2" round="$3" out="$WORK/$1-$2-$3.json" before after
  start_target "$target"
  # Unmeasured warm-up (JIT, flows, buffers).
  run_tool 30 /dev/null /dev/null iperf3 -u -b 0 -l "$size" -t 1 -c "$TARGET_ADDR" -p "$TARGET_PORT" || true
  # The iperf3 server takes a moment after a test before it accepts the next; a test it turned away is run once more.
  local attempt
  for attempt in 1 2; do
    sleep 1
    before=$([[ -n "$PROXY_PID" ]] && cpu_ticks "$PROXY_PID" || echo 0)
    run_tool $((DURATION + 30)) "$out" "$WORK/logs/iperf3-$target-$size-$round.err" \
      iperf3 -u -b 0 -l "$size" -t "$DURATION" -c "$TARGET_ADDR" -p "$TARGET_PORT" -J || true
    grep -q '"error"' "$out" || break
  done
  after=$([[ -n "$PROXY_PID" ]] && cpu_ticks "$PROXY_PID" || echo 0)
  stop_target
  python3 - "$out" "$target" "$size" "$round" $((after - before)) "$CLK_TCK" >>"$RESULTS" <<'PY'
import json, sys
path, target, size, rnd, ticks, clk = sys.argv[1:]
try:
    end = json.load(open(path))["end"]["sum"]
except Exception as e:
    print(f"{target}\t{size}\t{rnd}\tnan\tnan\tnan\tnan"); sys.exit(0)
received = end["packets"] - end["lost_packets"]
pps = received / end["seconds"]
mbit = received * int(size) * 8 / end["seconds"] / 1e6
cpu = int(ticks) / int(clk)
cpu_per_m = cpu / received * 1e6 if received and target != "direct" else float("nan")
print(f"{target}\t{size}\t{rnd}\t{pps:.0f}\t{mbit:.1f}\t{end['lost_percent']:.2f}\t{cpu_per_m:.2f}")
PY
  tail -1 "$RESULTS" | awk -F'\t' '{printf "   %-6s %5s B round %s: %9s datagrams/s received, %8s Mbit/s, %6s%% lost, %s CPU s per million\n", $1, $2, $3, $4, $5, $6, $7}'
}

echo "== UDP: iperf3 -u -b 0, ${DURATION}s per test, $ROUNDS rounds, $(nproc) CPUs"
for ((round = 1; round <= ROUNDS; round++)); do
  for size in 64 1400; do
    for target in direct lb nginx; do
      measure "$target" "$size" "$round"
    done
  done
done

echo
echo "== medians over $ROUNDS rounds"
python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    t, size, rnd, pps, mbit, lost, cpu = line.rstrip("\n").split("\t")
    rows[(t, int(size))].append((float(pps), float(mbit), float(lost), float(cpu)))
print("| target | datagram | received datagrams/s | received Mbit/s | lost | proxy CPU s per million received |")
print("| --- | --- | --- | --- | --- | --- |")
for size in (64, 1400):
    for t in ("direct", "lb", "nginx"):
        v = rows.get((t, size))
        if not v: continue
        med = [statistics.median(x[i] for x in v) for i in range(4)]
        cpu = "—" if t == "direct" else f"{med[3]:.2f}"
        print(f"| {t} | {size} B | {med[0]:,.0f} | {med[1]:,.1f} | {med[2]:.1f}% | {cpu} |")
PY
