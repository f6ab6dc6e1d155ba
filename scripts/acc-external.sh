#!/usr/bin/env bash
# make testacc-external: the acceptance tests in external mode, the way they reach real clusters.
# Each datacenter is its own cmd/pvesim process with its own certificate on a port the OS picks
# (never the demo's 18006/18007), with tasks that take time; the tests get the endpoints, tokens
# and fingerprints only from MOXXIE_ACC_* variables, then the sweepers clean the clusters, and the
# processes are stopped whatever happened. Extra arguments go to `go test` (e.g. -run TestAccVM_).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
read -r -a dcs <<<"${ACC_EXTERNAL_DCS:-DC1 DC2 DC3}"
task_duration=${ACC_EXTERNAL_TASK_DURATION:-50ms}
# The provider runs as the datacenter-setup guide's privilege-separated token with exactly the
# guide's role (read from the guide, as the in-process suite does); the tests' own setup and checks
# use root's token, as an administrator would.
token_id='moxxie@pve!terraform'
token_secret="acc-external-$(date +%s)-$RANDOM"
admin_id='root@pam!admin'
admin_secret="acc-external-admin-$RANDOM$RANDOM"
guide=templates/guides/datacenter-setup.md.tmpl
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
TF_ACC_TERRAFORM_PATH=${TF_ACC_TERRAFORM_PATH:-$(command -v terraform)}
export TF_ACC_TERRAFORM_PATH TF_ACC_PROVIDER_NAMESPACE=${TF_ACC_PROVIDER_NAMESPACE:-moxxie}
go build -o "$work/pvesim" ./cmd/pvesim
privs=$(sed -n '/pveum role add Moxxie --privs "/,/"$/p' "$guide" | sed -e 's/.*--privs "//' -e 's/"$//' -e 's/\\$//' | tr -s ' \n' ',' | sed -e 's/^,//' -e 's/,$//')
[ -n "$privs" ] || { echo "acc-external: no 'pveum role add Moxxie --privs' in $guide" >&2; exit 1; }

# The same shape as the in-process simulators (one 16-core, 64 GiB node pve1), so that the tests'
# capacity figures hold in both modes. Every process attaches one PBS datastore (storage "pbs"),
# as a PBS sync job between the sites makes it, for the disaster-recovery tests.
mkdir -p "$work/pbs"
for dc in "${dcs[@]}"; do
  "$work/pvesim" -dc "$dc=127.0.0.1:0" -token "$admin_id=$admin_secret" \
    -role "Moxxie=$privs" -privsep-token "$token_id=$token_secret:Moxxie" \
    -nodes 1 -node-cores 16 -node-memory-mb 65536 -task-duration "$task_duration" \
    -pbs-dir "$work/pbs" -ready-file "$work/$dc.json" >"$work/$dc.out" 2>"$work/$dc.err" &
  pids+=($!)
done

field() { sed -n "s/^ *\"$2\": \"\(.*\)\",\{0,1\}$/\1/p" "$work/$1.json" | head -n 1; }
for i in "${!dcs[@]}"; do
  dc=${dcs[$i]}
  for _ in $(seq 1 200); do
    [ -s "$work/$dc.json" ] && break
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "acc-external: pvesim for $dc exited:" >&2; cat "$work/$dc.err" >&2; exit 1; }
    sleep 0.05
  done
  [ -s "$work/$dc.json" ] || { echo "acc-external: pvesim for $dc did not come up" >&2; exit 1; }
  url=$(field "$dc" url)
  fingerprint=$(field "$dc" fingerprint)
  [ -n "$url" ] && [ -n "$fingerprint" ] || { echo "acc-external: $dc: no url or fingerprint in the ready file" >&2; exit 1; }
  echo "acc-external: $dc $url (pid ${pids[$i]}, tasks $task_duration, role Moxxie: $privs)"
  export "MOXXIE_ACC_${dc}_URL=$url" "MOXXIE_ACC_${dc}_FINGERPRINT=$fingerprint" "MOXXIE_ACC_${dc}_API_TOKEN=$token_id=$token_secret" \
    "MOXXIE_ACC_${dc}_ADMIN_API_TOKEN=$admin_id=$admin_secret"
done
MOXXIE_ACC_DATACENTERS=$(IFS=,; echo "${dcs[*]}")
export MOXXIE_ACC_DATACENTERS

status=0
TF_ACC=1 go test ./internal/provider -count=1 -timeout "${GOTEST_TIMEOUT:-40m}" "$@" || status=$?

# Whatever the tests did, the sweepers leave the clusters clean; their failure fails the run.
echo "acc-external: sweeping $MOXXIE_ACC_DATACENTERS"
go test ./internal/provider -count=1 -timeout 10m -sweep="$MOXXIE_ACC_DATACENTERS" || status=$?
exit "$status"
