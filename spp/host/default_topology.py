"""The default topology, embedded (identical to recipes/topologies/default.yaml)."""

DEFAULT_TOPOLOGY_YAML = """\
# Default spp-xdp host topology (`spp host up` with no argument).
# spp-remote plays the "remote host" of the SPP docs; spp-p0/spp-p1 are phy:0/phy:1
# of the primary (af_xdp); spp-vm1/spp-vm2 stand in for VMs.
name: default
file_prefix: spp
bpf_pin_prefix: spp_
namespaces: [spp-remote, spp-vm1, spp-vm2]
veths:
  - ends:
      - {name: r-eth0, netns: spp-remote, mac: "02:00:00:00:10:00", ipv4: 198.18.0.1/24}
      - {name: spp-p0, mac: "02:00:00:00:00:00", ipv4: 198.18.0.254/24, phy: 0}
  - ends:
      - {name: r-eth1, netns: spp-remote, mac: "02:00:00:00:10:01", ipv4: 198.18.1.1/24}
      - {name: spp-p1, mac: "02:00:00:00:00:01", ipv4: 198.18.1.254/24, phy: 1}
  - ends:
      - {name: vm1-eth0, netns: spp-vm1, mac: "52:54:00:12:34:56", ipv4: 198.18.0.11/24}
      - {name: spp-vm1}
  - ends:
      - {name: vm2-eth0, netns: spp-vm2, mac: "52:54:00:12:34:58", ipv4: 198.18.0.12/24}
      - {name: spp-vm2}
"""
