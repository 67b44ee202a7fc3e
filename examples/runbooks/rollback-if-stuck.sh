#!/usr/bin/env bash
# A rollout is stuck or crash-looping: return the service to its last healthy revision.
#
# Usage: rollback-if-stuck.sh SERVICE REASON
#
# Exit: 0 healthy already, or rolled back and verified; otherwise the exit code of oncall
#       (4 no access, 5 conflict/paused/GitOps, 6 still rolling, 7 failed or not verified).
set -uo pipefail

service=${1:?usage: rollback-if-stuck.sh SERVICE REASON}
reason=${2:?usage: rollback-if-stuck.sh SERVICE REASON}

status=$(oncall status "$service" -o json)
code=$?
if ((code != 0 && code != 7)); then
  echo "cannot read the status of $service (exit $code)"
  exit "$code"
fi
read -r state fatal < <(python3 -c '
import json, sys
d = json.load(sys.stdin)
fatal = any(p["fatal"] and p["new_revision"] for p in d["problems"])
print(d["state"], "yes" if fatal else "no")' <<<"$status")

if [[ $state == complete && $fatal == no ]]; then
  echo "$service is healthy (rollout complete); nothing to do"
  exit 0
fi
echo "$service is $state$([[ $fatal == yes ]] && echo ', new pods crash-looping'): rolling back"

out=$(oncall rollback "$service" --yes --reason "$reason" -o json)
code=$?
case $code in
  0)
    python3 -c '
import json, sys
d = json.load(sys.stdin)
print("rolled back: revision %s -> %s (%s); %s" % (d["from"]["revision"], d["to"]["revision"], d["rule"],
      (d.get("verification") or {}).get("summary", "not verified")))' <<<"$out"
    ;;
  4) echo "no access: oncall request-access $service --role deployer --for 30m --reason \"$reason\"" ;;
  5) echo "not rolled back: $service changed under us, is paused, or belongs to GitOps; see: oncall history $service" ;;
  6) echo "rolled back but not converged yet; follow it: oncall status $service --watch" ;;
  7) echo "rolled back but the service is still unhealthy; escalate" ;;
  *) echo "rollback failed (exit $code)" ;;
esac
exit "$code"
