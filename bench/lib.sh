#!/usr/bin/env bash
# bench/lib.sh — what the benchmark scripts share: processes recorded by PID and always ended, CPU and
# memory read from /proc, the machine's load, the HTTP backend and the published forwarder.
# Sourced, not run. Before sourcing, the script sets ROOT, WORK (a directory it owns), KEEP (0/1),
# HOST, HTTP_PORT and LB_DIR, and defines die().

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
trap 'echo "bench/$(basename "$0"): interrupted" >&2; exit 130' INT TERM

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
  # The files are read with getline in BEGIN, not as awk's input files: a process that exits
  # between the glob and the read (a build forks hundreds) would make mawk stop with status 2 at
  # the missing file, without its END, and end the benchmark under set -e; getline just returns -1.
  awk -v ours=" $ours " '
    BEGIN {
      for (i = 1; i < ARGC; i++) {
        file = ARGV[i]
        if ((getline line < file) <= 0) continue
        close(file)
        pid = file; sub("^/proc/", "", pid); sub("/stat$", "", pid)
        if (index(ours, " " pid " ")) continue
        sub(/^.*\) /, "", line); n = split(line, f, " ")
        # Kernel threads (kthreadd = 2 and its children) are left out: ksoftirqd and kworkers
        # carry the loopback traffic of this benchmark when softirqs overflow.
        if (pid == 2 || f[2] == 2) continue
        if (n >= 15) t += f[12] + f[13] + f[14] + f[15]
      }
      print t + 0
      exit
    }' /proc/[0-9]*/stat 2>/dev/null
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
# The HTTP backend of every wrk test: nginx on $HOST:$HTTP_PORT answering a 29-byte body.
# With HTTP_BACKEND_PROXY_PROTOCOL set, it expects a PROXY protocol header (v1 or v2) on every connection.
start_http_backend() {
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
    listen $HOST:$HTTP_PORT reuseport backlog=4096${HTTP_BACKEND_PROXY_PROTOCOL:+ proxy_protocol};
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
}

# ---------------------------------------------------------------------------------------------
# Other work on the machine (builds, tests) takes CPU from the 2 vCPUs everything here shares;
# wait up to SECONDS for it to pass, then go on regardless and let the report show it (BUSY_START).
wait_until_idle() {  # SECONDS
  local waited=0
  BUSY_START=$(busy_fraction)
  while awk -v b="$BUSY_START" 'BEGIN {exit !(b > 0.10)}' && ((waited < $1)); do
    echo "   machine busy ($(awk -v b="$BUSY_START" 'BEGIN {printf "%d", b * 100}') % CPU before start); waiting up to ${1}s for it to settle"
    sleep 3; waited=$((waited + 5))
    BUSY_START=$(busy_fraction)
  done
  if awk -v b="$BUSY_START" 'BEGIN {exit !(b > 0.10)}'; then
    echo "   warning: machine still $(awk -v b="$BUSY_START" 'BEGIN {printf "%d", b * 100}') % busy; figures will be noisy" >&2
  fi
}

# ---------------------------------------------------------------------------------------------
# The forwarder, published to $LB_DIR (with BUILD=1 always, else only when missing) with a note of
# the commit it was built from: HEAD may move between this build and a later run against the same
# directory, and the report names the source the binary came from, not the one checked out.
publish_forwarder() {  # BUILD
  command -v dotnet >/dev/null || die "dotnet not found"
  # `loadbalancer forward` becomes loadbalancer-forward when it is there (docs/adr/0011-memory-footprint.md), and that is
  # what ships: a publish made here before it existed is published again. A directory without it that bench/ did
  # publish with it (a copy with the file removed, to measure the framework-dependent forwarder) is measured as it is.
  local stale=0
  if [[ -f "$LB_DIR/bench-build.txt" && ! -x "$LB_DIR/loadbalancer-forward" ]] && ! grep -q "native forwarder" "$LB_DIR/bench-build.txt"; then
    stale=1
  fi
  if (($1)) || ((stale)) || [[ ! -f "$LB_DIR/loadbalancer.dll" ]]; then
    echo "== building the forwarder: dotnet publish src/Host -c Release -o $LB_DIR (with the native forwarder: a few minutes)"
    run_tool 900 "$WORK/publish.log" "$WORK/publish.log" dotnet publish "$ROOT/src/Host" -c Release -o "$LB_DIR" ||
      { tail -20 "$WORK/publish.log" >&2; die "dotnet publish failed (log above)"; }
    echo "built $(date -u '+%Y-%m-%d %H:%M UTC') from commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(
      git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes'), with the native forwarder" >"$LB_DIR/bench-build.txt"
  fi
}

# The machine and the build, as key=value lines for the report.
machine_facts() {
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "kernel=$(uname -r)"
  # "model name" alone can be as vague as "AMD EPYC" under a hypervisor; family/model pin the generation.
  echo "cpu=$(awk -F': ' '/^model name/ {n = $2} /^cpu family/ {f = $2} /^model\t/ {m = $2}
    /^$/ {exit} END {printf "%s (family %s, model %s)", n, f, m}' /proc/cpuinfo)"
  echo "cores=$(nproc)"
}

# The runtime and the build of the forwarder, as key=value lines for the report.
forwarder_facts() {
  echo "dotnet=$(dotnet --list-runtimes 2>/dev/null | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}')"
  local forward="loadbalancer forward runs the native forwarder"
  [[ -x "$LB_DIR/loadbalancer-forward" ]] || forward="no loadbalancer-forward there now: loadbalancer forward runs framework-dependent"
  if [[ -f "$LB_DIR/bench-build.txt" && ! "$LB_DIR/loadbalancer.dll" -nt "$LB_DIR/bench-build.txt" ]]; then
    echo "build=$(cat "$LB_DIR/bench-build.txt"); $forward"
  else
    echo "build=built $(date -u -r "$LB_DIR/loadbalancer.dll" '+%Y-%m-%d %H:%M UTC') outside bench/, source commit unknown; $forward"
  fi
}
