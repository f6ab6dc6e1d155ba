#!/usr/bin/env bash
# make demo: two simulated Proxmox VE datacenters (DC2 with Q-in-Q), the quick-start example
# applied with the real terraform binary through dev_overrides (no registry, no terraform init),
# outputs printed, everything destroyed again. Exits non-zero if any step fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/.demo"
dc1_addr=${DEMO_DC1_ADDR:-127.0.0.1:18006}
dc2_addr=${DEMO_DC2_ADDR:-127.0.0.1:18007}
token_id='root@pam!moxxie'
token_secret=${DEMO_TOKEN_SECRET:-demo-$(date +%s)-$RANDOM}

# TERRAFORM picks the CLI: terraform on PATH by default, or e.g. OpenTofu (scripts/opentofu.sh).
tf=${TERRAFORM:-terraform}
command -v "$tf" >/dev/null || { echo "demo: $tf is not on PATH" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/bin" "$work/quickstart"

echo "==> building the provider and the simulator"
(cd "$root" && go build -o "$work/bin/terraform-provider-moxxie" . && go build -o "$work/pvesim" ./cmd/pvesim)

echo "==> starting simulated datacenters DC1 ($dc1_addr) and DC2 ($dc2_addr)"
"$work/pvesim" -dc "DC1=$dc1_addr" -dc "DC2=$dc2_addr" -token "$token_id=$token_secret" >"$work/pvesim.out" 2>"$work/pvesim.err" &
sim=$!
cleanup() {
  kill "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
}
trap cleanup EXIT

fingerprint() { awk -v dc="$1" '$1 == dc && $3 == "fingerprint" { print $4 }' "$work/pvesim.out"; }
for _ in $(seq 1 100); do
  [ -n "$(fingerprint DC1)" ] && [ -n "$(fingerprint DC2)" ] && break
  kill -0 "$sim" 2>/dev/null || { echo "demo: simulator exited:" >&2; cat "$work/pvesim.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$(fingerprint DC2)" ] || { echo "demo: simulator did not come up" >&2; cat "$work/pvesim.err" >&2; exit 1; }
cat "$work/pvesim.out"

cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "moxxie/moxxie" = "$work/bin"
  }
  direct {}
}
RC
cp "$root"/examples/quickstart/*.tf "$work/quickstart/"

export TF_CLI_CONFIG_FILE="$work/terraformrc"
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
[ -t 1 ] || export TF_CLI_ARGS="-no-color"
export MOXXIE_DC1_API_TOKEN="$token_id=$token_secret"
export MOXXIE_DC2_API_TOKEN="$token_id=$token_secret"
tfvars=(-var "dc1_url=https://$dc1_addr" -var "dc2_url=https://$dc2_addr"
  -var "dc1_fingerprint=$(fingerprint DC1)" -var "dc2_fingerprint=$(fingerprint DC2)")

cd "$work/quickstart"
echo "==> $tf apply ($("$tf" version | head -n 1))"
"$tf" apply -auto-approve -input=false "${tfvars[@]}"
echo "==> outputs"
"$tf" output
echo "==> a second plan must be empty"
"$tf" plan -detailed-exitcode -input=false "${tfvars[@]}" >/dev/null
echo "==> $tf destroy"
"$tf" destroy -auto-approve -input=false "${tfvars[@]}"
echo "==> demo finished"
