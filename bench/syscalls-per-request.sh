#!/usr/bin/env bash
# bench/syscalls-per-request.sh — the forwarder's CPU and system calls per request with `Connection: close`
# (a connection per request), against nginx on 127.0.0.1:18095; the forwarder listens on 127.0.0.1:18396.
#
# Usage: bench/syscalls-per-request.sh LB_DIR [engine] [seconds]
#   LB_DIR   a published forwarder (dotnet publish src/Host -c Release -o LB_DIR)
#   NOSTRACE=1 skips the strace pass (CPU only; alternate builds in a loop to compare them on a shared machine)
# Prints: requests, req/s, load average, the daemon's CPU (utime+stime from /proc) per request, and strace -c's calls
# per request. strace counts are exact; CPU and req/s move with whatever else runs on the machine.
set -euo pipefail
LBDIR=$1; engine=${2:-io_uring}; secs=${3:-6}
W=$(mktemp -d); mkdir -p $W/tmp
cat > $W/nginx.conf <<C
worker_processes 1; pid $W/nginx.pid; error_log $W/error.log warn; worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http { access_log off; client_body_temp_path $W/tmp; proxy_temp_path $W/tmp; fastcgi_temp_path $W/tmp; uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
  server { listen 127.0.0.1:18095 reuseport backlog=4096; location / { return 200 "hello from the bench backend\n"; } } }
C
nginx -c $W/nginx.conf -g 'daemon off;' & NG=$!
dotnet $LBDIR/loadbalancer.dll forward --listen 127.0.0.1:18396 --backend 127.0.0.1:18095 --engine $engine --no-health-check > $W/lb.log 2>&1 & LB=$!
trap 'kill $LB $NG 2>/dev/null; wait 2>/dev/null; rm -rf $W' EXIT
sleep 3
wrk -t2 -c32 -d2s -H 'Connection: close' http://127.0.0.1:18396/ >/dev/null
cpu() { awk '{print $14+$15}' /proc/$LB/stat; }
hz=$(getconf CLK_TCK)
c0=$(cpu)
out=$(wrk -t2 -c32 -d${secs}s -H 'Connection: close' http://127.0.0.1:18396/)
c1=$(cpu)

req=$(echo "$out" | awk '/requests in/{print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
echo "== $engine ($LBDIR): $req requests, $rps req/s (load $(cut -d' ' -f1 /proc/loadavg)), lb CPU $(( (c1-c0) ))/$hz s -> $(awk -v c=$((c1-c0)) -v r=$req -v h=$hz 'BEGIN{printf "%.1f", c/h/r*1e6}') CPU-us per request"
[ "${NOSTRACE:-}" = 1 ] && exit 0
timeout -s INT 5 strace -c -f -p $LB -o $W/strace.txt & ST=$!
sleep 0.5
out=$(wrk -t2 -c32 -d3s -H 'Connection: close' http://127.0.0.1:18396/)
wait $ST || true
req=$(echo "$out" | awk '/requests in/{print $1}')
echo "== strace -c: $req requests; calls per request:"
awk -v r=$req '/^[ ]*[0-9]/ && NF>=5 {name=$NF; calls=$4; if ($5 ~ /^[0-9]+$/) {} ; printf "  %-20s %8d  %.2f\n", name, calls, calls/r}' $W/strace.txt | sort -k2 -nr | head -12
