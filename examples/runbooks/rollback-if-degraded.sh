#!/usr/bin/env bash
# Triage a service; when it is degraded and a deploy explains it, roll back to the revision triage
# recommends (the newest earlier one that was healthy while it ran). Otherwise do nothing.
#
# Usage: rollback-if-degraded.sh SERVICE
#
# Exit: 0 healthy, or rolled back and verified; 8 degraded with no deploy to blame (escalate);
#       otherwise the exit code of oncall (3 triage incomplete, 4 no access, 5 conflict, 6/7 rollout).
set -uo pipefail

service=${1:?usage: rollback-if-degraded.sh SERVICE}

report=$(oncall triage "$service" -o json)
code=$?
case $code in
  0) echo "$service is healthy; nothing to do"; exit 0 ;;
  8) ;;
  3) echo "triage of $service is incomplete (a backend failed); not acting on a partial picture"; exit 3 ;;
  *) echo "triage of $service failed (exit $code)"; exit "$code" ;;
esac

# The suspect and the rollback command triage recommends, if any.
read -r suspect target why < <(python3 -c '
import json, re, sys
d = json.load(sys.stdin)
s = d.get("suspect") or {}
target = ""
for r in d.get("recommendations", []):
    m = re.match(r"oncall rollback \S+ --to-revision (\d+)", r.get("command", ""))
    if m:
        target = m.group(1)
        break
print(s.get("revision", "-"), target or "-", (s.get("reason") or "-").replace("\n", " "))' <<<"$report")

if [[ $suspect == - || $target == - ]]; then
  echo "$service is degraded but no deploy explains it; not rolling back: escalate"
  exit 8
fi
echo "$service is degraded since revision $suspect ($why): rolling back to revision $target"
out=$(oncall rollback "$service" --to-revision "$target" --yes --reason "triage: revision $suspect suspected: $why" -o json)
code=$?
case $code in
  0) python3 -c '
import json, sys
d = json.load(sys.stdin)
print("rolled back %s: revision %s -> %s; %s" % (d["service"], d["from"]["revision"], d["to"]["revision"],
      (d.get("verification") or {}).get("summary", "not verified")))' <<<"$out" ;;
  4) echo "no access: oncall request-access $service --role deployer --for 30m --reason \"revision $suspect: $why\"" ;;
  5) echo "not rolled back: $service changed under us, is paused, or belongs to GitOps; see: oncall history $service" ;;
  6) echo "rolled back but not converged yet; follow it: oncall status $service --watch" ;;
  7) echo "rolled back but $service still breaches its SLO; escalate" ;;
  *) echo "rollback failed (exit $code)" ;;
esac
exit "$code"
