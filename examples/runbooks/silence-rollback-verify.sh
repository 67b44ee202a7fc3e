#!/usr/bin/env bash
# Quiet a service's page while its fix lands: silence the service's alerts, roll it back, and lift
# the silence only when the rollback's verification passed. Any other outcome keeps the silence
# (it ends by itself) and says what to do next.
#
# Usage: silence-rollback-verify.sh SERVICE REASON [TICKET]
#
# Exit: 0 rolled back, verified and the silence expired; 9 rolled back but verification was
#       inconclusive (silence kept); otherwise the exit code of oncall (2 bad input, 3 Alertmanager
#       unreachable, 4 no access, 5 conflict, 6/7 rollout or verification failed).
set -uo pipefail

service=${1:?usage: silence-rollback-verify.sh SERVICE REASON [TICKET]}
reason=${2:?usage: silence-rollback-verify.sh SERVICE REASON [TICKET]}
ticket=${3:-}

args=(silence "$service" --for 1h --reason "$reason")
[[ -n $ticket ]] && args+=(--ticket "$ticket")
created=$(oncall "${args[@]}" -o json)
code=$?
if ((code != 0)); then
  echo "could not silence $service (exit $code); not rolling back without it"
  exit "$code"
fi
silence=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$created")
echo "silenced $service: $silence"

out=$(oncall rollback "$service" --yes --reason "$reason" -o json)
code=$?
verdict=$(python3 -c '
import json, sys
try:
    v = json.load(sys.stdin).get("verification") or {}
except ValueError:
    v = {}
print(v.get("status") or "none")' <<<"$out")

case $code in
  0) ;;
  4) echo "no access: oncall request-access $service --role deployer --for 30m --reason \"$reason\"; silence $silence kept"; exit 4 ;;
  7) echo "rolled back but $service still breaches its SLO; silence $silence kept: escalate"; exit 7 ;;
  *) echo "rollback of $service failed (exit $code); silence $silence kept"; exit "$code" ;;
esac
if [[ $verdict != pass ]]; then
  echo "rolled back, but verification was $verdict; silence $silence kept until it ends (oncall triage $service)"
  exit 9
fi
if ! oncall silence expire "$silence" -q >/dev/null; then
  echo "rolled back and verified, but silence $silence could not be expired: oncall silence expire $silence"
  exit 1
fi
echo "rolled back and verified; silence $silence expired, $service pages again"
