#!/usr/bin/env bash
# Seed 003, section 2.2 "SSH Login to VMs" with real QEMU VMs (`make demo USECASE=ssh_login`):
# `spp up --topology recipes/topologies/ssh_login.yaml` (host, two VMs, controller, primary,
# spp_vf with the seed's options), the ssh recipes, four SSH logins from the remote host
# (each VM through each NIC) and a 50 MiB stream through each path checked by sha256,
# the per-component counters, the shutdown recipes, `6-exit.rcp`, `spp down`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SPP=(.venv/bin/spp)
PY=.venv/bin/python
TOPO=recipes/topologies/ssh_login.yaml
RCP=recipes/usecases/spp_vf/ssh
MIB="${SPP_DEMO_MIB:-50}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

STATUS_JSON="$(mktemp /tmp/spp-demo.XXXXXX.json)"
trap '"${SPP[@]}" down >/dev/null 2>&1 || true; rm -f "$STATUS_JSON"' EXIT

step "spp up --topology $TOPO"
"${SPP[@]}" up --topology "$TOPO"

step "configure spp_vf 1 from the recipes"
for r in "$RCP"/1-start_components.rcp "$RCP"/2-add_port_path1.rcp "$RCP"/3-add_port_path2.rcp; do
    echo "playback $r"
    "${SPP[@]}" playback "$r"
done

step "VMs boot once spp_vf has connected all their vhost-user NICs"
"$PY" - <<'PYEOF'
from spp.host import vm
vm.wait_ready(["spp-vm1", "spp-vm2"], "spp", timeout=180)
PYEOF
"${SPP[@]}" host show | grep -A2 ' VM '

step "remote host: log in to each VM through each NIC, then $MIB MiB through each path"
status=0
"$PY" -m spp.host.vmssh --topology "$TOPO" --mib "$MIB" || status=$?

step "per-component counters"
"${SPP[@]}" vf 1 status --json >"$STATUS_JSON"
"$PY" - "$STATUS_JSON" <<'PYEOF'
import json, sys
st = json.load(open(sys.argv[1]))
for c in st["components"]:
    if "name" in c:
        ctr = " ".join(f"{k}={v}" for k, v in c["counters"].items() if not isinstance(v, dict))
        print(f"  {c['name']:5} core:{c['core']:<2} {c['type']:10} {ctr}")
PYEOF

step "graceful shutdown from the recipes"
for r in "$RCP"/4-del_path1.rcp "$RCP"/5-del_path2.rcp; do
    echo "playback $r"
    "${SPP[@]}" playback "$r"
done
"${SPP[@]}" vf 1 status
echo "playback $RCP/6-exit.rcp"
"${SPP[@]}" playback "$RCP"/6-exit.rcp

step "spp down"
"${SPP[@]}" down
trap - EXIT
rm -f "$STATUS_JSON"
exit "$status"
