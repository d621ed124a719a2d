#!/usr/bin/env bash
# The original's external setup: a k3d cluster without k3s' own ServiceLB, and Little Load Balancer on the host,
# watching the cluster through its kubeconfig and putting the Services' IPs on the bridge of k3d's Docker network.
# See deploy/k3d/README.md.
#
#   deploy/k3d/littlelb-k3d.sh up        # create the cluster (CLUSTER, AGENTS), label the agents as workers
#   deploy/k3d/littlelb-k3d.sh run       # run the daemon on the host (as root: it adds addresses to the bridge)
#   deploy/k3d/littlelb-k3d.sh demo      # apply examples/echo.yaml and examples/service-lb.yaml, then curl the IP
#   deploy/k3d/littlelb-k3d.sh down      # delete the cluster
set -euo pipefail

CLUSTER=${CLUSTER:-littlelb}
AGENTS=${AGENTS:-2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KUBECONFIG_FILE=${KUBECONFIG_FILE:-$HOME/.config/little-load-balancer/k3d-$CLUSTER.yaml}

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is not installed ($2)" >&2; exit 1; }
}

network() { echo "k3d-$CLUSTER"; }

# Docker names a user network's bridge br-<the first 12 characters of the network id>.
bridge() {
  local id
  id=$(docker network inspect -f '{{.Id}}' "$(network)")
  echo "br-${id:0:12}"
}

# The last /28 of the network's IPv4 subnet: Docker hands out container addresses from the start of it.
pool() {
  local subnet
  subnet=$(docker network inspect -f '{{range .IPAM.Config}}{{if not (eq .Subnet "")}}{{.Subnet}} {{end}}{{end}}' "$(network)" \
    | tr ' ' '\n' | grep -v ':' | head -n1)
  [ -n "$subnet" ] || { echo "error: network '$(network)' has no IPv4 subnet" >&2; exit 1; }
  python3 -c 'import ipaddress, sys; print(list(ipaddress.ip_network(sys.argv[1]).subnets(new_prefix=28))[-1])' "$subnet"
}

up() {
  need docker "https://docs.docker.com/engine/install/"
  need k3d "https://k3d.io"
  need kubectl "https://kubernetes.io/docs/tasks/tools/"
  # servicelb off: Services of type LoadBalancer are ours. No k3d load balancer container either: the API server's
  # port is published from the server node itself.
  k3d cluster create "$CLUSTER" --agents "$AGENTS" --no-lb \
    --k3s-arg "--disable=servicelb@server:*" --wait
  mkdir -p "$(dirname "$KUBECONFIG_FILE")"
  k3d kubeconfig get "$CLUSTER" >"$KUBECONFIG_FILE"
  chmod 600 "$KUBECONFIG_FILE"
  # NodePort traffic goes to the nodes labelled as workers (--worker-selector; --tag-worker-nodes does this too).
  for node in $(kubectl --kubeconfig "$KUBECONFIG_FILE" get nodes -o name -l '!node-role.kubernetes.io/control-plane'); do
    kubectl --kubeconfig "$KUBECONFIG_FILE" label --overwrite "$node" node-role.kubernetes.io/worker=true
  done
  echo "cluster $CLUSTER is up; kubeconfig: $KUBECONFIG_FILE; bridge: $(bridge); pool: $(pool)"
  echo "next: sudo $0 run"
}

run() {
  need docker "https://docs.docker.com/engine/install/"
  local device pool
  device=$(bridge)
  pool=${POOL:-$(pool)}
  echo "serving the Services of cluster $CLUSTER from pool $pool on $device (Ctrl-C drains and releases)"
  exec dotnet run --project "$ROOT/src/Host" -c Release -- \
    --kubeconfig "$KUBECONFIG_FILE" --link-device "$device" --restricted-cidr "$pool" --no-leader-election "$@"
}

demo() {
  need kubectl "https://kubernetes.io/docs/tasks/tools/"
  kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f "$ROOT/examples/echo.yaml" -f "$ROOT/examples/service-lb.yaml"
  kubectl --kubeconfig "$KUBECONFIG_FILE" rollout status daemonset/echo --timeout=120s
  local ip=""
  for _ in $(seq 1 60); do
    ip=$(kubectl --kubeconfig "$KUBECONFIG_FILE" get service echo-lb -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
    [ -n "$ip" ] && break
    sleep 1
  done
  [ -n "$ip" ] || { echo "error: service echo-lb got no IP in 60 s: is '$0 run' running?" >&2; exit 1; }
  echo "echo-lb has $ip"
  curl -sS --max-time 5 "http://$ip/"
}

down() {
  need k3d "https://k3d.io"
  k3d cluster delete "$CLUSTER"
  rm -f "$KUBECONFIG_FILE"
}

case "${1:-}" in
  up) up ;;
  run) shift; run "$@" ;;
  demo) demo ;;
  down) down ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
