#!/usr/bin/env bash
# Idle CPU and log volume of the forwarder's health checks with N listeners on dead backends
# (benchmarks/Health.Benchmarks). Each run is its own process; runs go one after another, so they do not share cores.
#
#   bench/health-idle.sh [ROOT ...]         ROOT: a source tree (default: this one); e.g. a worktree of an older commit:
#     git worktree add /tmp/health-before 30a7689 && cp -r benchmarks/Health.Benchmarks /tmp/health-before/benchmarks/
#     bench/health-idle.sh /tmp/health-before .
#
# Environment: LISTENERS (5000), VARIANTS ("distinct shared"), REPEATS (2), SETTLE (90 s), MEASURE (30 s),
# EXTRA (more arguments, e.g. "--unhealthy-factor 1" to probe unhealthy targets as often as before).
# Figures on a shared machine are noisy: compare repeats, not single runs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
roots=("$@")
[[ ${#roots[@]} -eq 0 ]] && roots=("$here")
listeners="${LISTENERS:-5000}"
variants="${VARIANTS:-distinct shared}"
repeats="${REPEATS:-2}"
settle="${SETTLE:-90}"
measure="${MEASURE:-30}"

for root in "${roots[@]}"; do
  dotnet build "$root/benchmarks/Health.Benchmarks" -c Release -v quiet -nologo >/dev/null
done

for repeat in $(seq 1 "$repeats"); do
  for variant in $variants; do
    for root in "${roots[@]}"; do
      result="$(dotnet "$root/benchmarks/Health.Benchmarks/bin/Release/net10.0/LoadBalancer.Health.Benchmarks.dll" \
        --listeners "$listeners" --variant "$variant" --settle "$settle" --measure "$measure" ${EXTRA:-} | tail -1)"
      echo "root=$root commit=$(git -C "$root" rev-parse --short HEAD) repeat=$repeat $result"
    done
  done
done
