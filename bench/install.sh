#!/usr/bin/env bash
# Installs the peers and load generators that bench/run.sh compares our forwarder with:
# haproxy, nginx (+ stream module), iperf3, wrk, and golang-go to build the Go io.Copy peer
# (bench/goproxy) — from Debian's packages, only those missing.
#
# Usage: bench/install.sh        (as root, or with sudo available)
#
# Idempotent: when every tool is already present it touches neither apt nor the network,
# so it also works offline on a machine that ran it before.
set -euo pipefail

# A package counts as present when dpkg says "install ok installed"; checking the binary alone
# would miss libnginx-mod-stream, which is a module, not a command.
missing=()
PACKAGES=(haproxy nginx libnginx-mod-stream iperf3 wrk golang-go)
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "bench/install.sh: all present (${PACKAGES[*]})"
  exit 0
fi

SUDO=""
if ((EUID != 0)); then SUDO="sudo"; fi

echo "bench/install.sh: installing ${missing[*]}"
# noninteractive: iperf3's package asks through debconf whether to run a system daemon; the default
# (no) is what we want — run.sh starts its own iperf3 server on a private port.
export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt cannot find a candidate (fresh machine with empty lists);
# a needless update would make a re-run slow and fail offline.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The Debian packages start system services where an init system is present (nginx on :80, haproxy).
# The benchmark never uses them and they would compete for the CPU, so stop them if they run.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    echo "bench/install.sh: stopping system service $svc (the benchmark starts its own instances)"
    $SUDO systemctl stop "$svc" || true
  fi
done
echo "bench/install.sh: done"
