"""Host set-up for spp-xdp: topology (netns + veth) up/down, hugepages, bpffs, test helpers."""

from spp.host.state import HostState, load_state
from spp.host.system import prepare_host
from spp.host.topology import Topology, TopologyError, VethEnd, default_topology, load_topology
from spp.host.updown import HostError, host_down, host_show, host_up

__all__ = [
    "HostError",
    "HostState",
    "Topology",
    "TopologyError",
    "VethEnd",
    "default_topology",
    "host_down",
    "host_show",
    "host_up",
    "load_state",
    "load_topology",
    "prepare_host",
]
