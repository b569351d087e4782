#!/usr/bin/env bash
# The main job on the default topology (seed 003, section 2.1 "classify ICMP"):
# host set-up, `spp up`, the classify_icmp recipes, pings from the remote
# namespace, what arrived on the far side, status and counters, the shutdown
# recipes, `spp down`. Along the way: `spp top --once` under traffic and the metrics
# exporter `spp up` starts (127.0.0.1:9877). Run by `make demo` (as root, after
# `make setup build`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# `make demo USECASE=NAME`: another use case's own script
case "${USECASE:-classify_icmp}" in
    classify_icmp | "") ;;
    ssh_login) exec bash scripts/demo_ssh_login.sh ;;
    *) echo "demo.sh: unknown USECASE '$USECASE' (classify_icmp, ssh_login)" >&2; exit 2 ;;
esac

SPP=(.venv/bin/spp)
RCP=recipes/usecases/spp_vf/classify_icmp
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

trap '"${SPP[@]}" down >/dev/null 2>&1 || true' EXIT

step "spp up: host topology, controller, primary (phy:0=spp-p0, phy:1=spp-p1), spp_vf 1"
"${SPP[@]}" up

step "configure spp_vf 1 from the recipes"
for r in "$RCP"/1-start_components.rcp "$RCP"/2-add_ports.rcp "$RCP"/3-add_cls_table.rcp; do
    echo "playback $r"
    "${SPP[@]}" playback "$r"
done

step "remote host: static ARP for the two VM MACs, capture on r-eth1, ping via r-eth0"
ip netns exec spp-remote ip neigh replace 198.18.0.56 lladdr 52:54:00:12:34:56 dev r-eth0
ip netns exec spp-remote ip neigh replace 198.18.0.58 lladdr 52:54:00:12:34:58 dev r-eth0
ip netns exec spp-remote timeout 4 tcpdump -lnei r-eth1 icmp 2>/dev/null &
capture=$!
sleep 1
ip netns exec spp-remote ping -c 3 -i 0.3 -W 1 198.18.0.56 >/dev/null || true
ip netns exec spp-remote ping -c 3 -i 0.3 -W 1 198.18.0.58 >/dev/null || true
wait "$capture" || true

step "spp top --once while the remote host pings both VMs (5 per second each)"
ip netns exec spp-remote ping -c 15 -i 0.2 -W 1 198.18.0.56 >/dev/null 2>&1 &
ping1=$!
ip netns exec spp-remote ping -c 15 -i 0.2 -W 1 198.18.0.58 >/dev/null 2>&1 &
ping2=$!
sleep 1
COLUMNS=120 "${SPP[@]}" top --once
wait "$ping1" "$ping2" || true

step "metrics: the exporter spp up started (a few of its series)"
.venv/bin/python - <<'PY'
import urllib.request
text = urllib.request.urlopen("http://127.0.0.1:9877/metrics", timeout=5).read().decode()
want = ("spp_component_rx_packets_total", "spp_classifier_packets_total",
        "spp_lcore_busy_cycles_total", "spp_component_cycles_per_packet")
for line in text.splitlines():
    if line.startswith(want) and ('component="cls"' in line or 'lcore="3"' in line):
        print(" ", line)
PY
echo "Point Prometheus at 127.0.0.1:9877 (scrape config: grafana/prometheus.yml, e.g."
echo "  prometheus --config.file=grafana/prometheus.yml), then import grafana/dashboards/*.json"
echo "  into Grafana (grafana/README.md). \`spp top\` shows the same counters live."

step "spp vf 1 status"
"${SPP[@]}" vf 1 status

step "per-component counters"
"${SPP[@]}" vf 1 status --json | .venv/bin/python -c '
import json, sys
st = json.load(sys.stdin)
for c in st["components"]:
    if "name" in c:
        name, core, kind, ctr = c["name"], c["core"], c["type"], c["counters"]
        print(f"  {name:5} core:{core} {kind:10} {ctr}")
'

step "primary status"
"${SPP[@]}" primary status

step "graceful shutdown from the recipes"
for r in "$RCP"/4-del_cls_table.rcp "$RCP"/5-del_ports.rcp "$RCP"/6-stop_components.rcp; do
    echo "playback $r"
    "${SPP[@]}" playback "$r"
done
"${SPP[@]}" vf 1 status

step "spp down"
"${SPP[@]}" down
trap - EXIT
