#!/usr/bin/env bash
# Ship a new image to a service and get back to where we were if it does not hold.
#
# Usage: safe-redeploy.sh SERVICE IMAGE REASON
#   IMAGE is [CONTAINER=]registry/repo:tag (the tag is resolved to a digest before anything is
#   written; only the service's own repositories are accepted).
#
# Exit: 0 shipped and verified; 7 it failed and the service is back on the previous revision;
#       anything else: the exit code of oncall (see the table in DESIGN.md), nothing to undo.
set -uo pipefail

service=${1:?usage: safe-redeploy.sh SERVICE IMAGE REASON}
image=${2:?usage: safe-redeploy.sh SERVICE IMAGE REASON}
reason=${3:?usage: safe-redeploy.sh SERVICE IMAGE REASON}

out=$(oncall redeploy "$service" --image "$image" --reason "$reason" --yes --auto-rollback -o json)
code=$?

field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$out" 2>/dev/null; }

case $code in
  0)
    echo "shipped: $service now runs $(field 'd["to"]["artifacts"][0]') ($(field 'd["verification"]["summary"]'))"
    ;;
  7)
    echo "FAILED: $service did not hold $(field 'd["to"]["artifacts"][0]'): $(field 'd["error"]["message"]')"
    echo "auto-rollback: $(field 'd.get("auto_rollback", {}).get("result", "not attempted")')"
    ;;
  2) echo "refused before anything was written (bad image, unknown tag, or no confirmation); nothing to undo" ;;
  3) echo "a backend (registry, API server) could not be used; nothing was written; retry when it is back" ;;
  4) echo "no access: request a deployer grant first:  oncall request-access $service --role deployer --for 30m --reason \"$reason\"" ;;
  5) echo "someone else changed $service (or it is paused / GitOps-owned); look before acting:  oncall history $service" ;;
  6) echo "the rollout did not finish in time; follow it:  oncall status $service --watch" ;;
  *) echo "unexpected failure (exit $code); see the messages above" ;;
esac
exit "$code"
