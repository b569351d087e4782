"""Which interfaces the bench drives, and the default topology it needs."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from spp.host import netdev
from spp.host.topology import Topology, default_topology
from spp.host.updown import host_down, host_up

# generator in spp-vm1 -> spp-vm1 (phy:0) -> forwarder -> spp-vm2 (phy:1) -> sink in spp-vm2
GEN_NS, GEN_IF = "spp-vm1", "vm1-eth0"
SINK_NS, SINK_IF = "spp-vm2", "vm2-eth0"
PORT_A, PORT_B = "spp-vm1", "spp-vm2"
# not an address of the sink: its kernel drops the frames right after counting them
TARGET_MAC = "02:00:00:00:be:02"
# a third port of the default topology (phy:1 of the e2e stack), for a mirror's copy:
# spp-p1 -> r-eth1 in spp-remote
COPY_PORT, COPY_NS, COPY_IF = "spp-p1", "spp-remote", "r-eth1"


@dataclass
class HostGuard:
    """Brings the default topology up when it is missing; takes down only what it made."""

    topology: Topology | None = None
    created: bool = False

    def up(self) -> None:
        self.topology = default_topology()
        self.created = not all(netdev.ns_exists(ns) for ns in (GEN_NS, SINK_NS))
        host_up(self.topology)

    def down(self) -> None:
        if self.created and self.topology is not None:
            host_down(self.topology)
            print("bench: default topology taken down (bench had brought it up)",
                  file=sys.stderr)
            self.created = False
