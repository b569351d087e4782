"""XDP steering: control the pinned maps of bpf/xdp_steer.c (see bpf/spp_xdp.h).

Public API::

    from spp.xdp import XdpSteering, unpin_all, XdpError, instance_dir
    with XdpSteering(instance_dir("spp")) as x:   # /sys/fs/bpf/spp/<file prefix>
        x.set_mode("spp-p0", "registered", drop_unknown=False)
        x.add_mac("spp-p0", "52:54:00:12:34:56", vlan=0)
        x.counters("spp-p0")
"""

from spp.xdp.errors import XdpBackendUnavailable, XdpError, XdpMapsNotFound, XdpValueError
from spp.xdp.pins import instance_dir, pin_port_maps, remove_instance
from spp.xdp.steering import (
    COUNTER_FIELDS,
    DEFAULT_BPFFS_ROOT,
    MODES,
    PINNED_MAPS,
    FdbEntry,
    PortMode,
    XdpSteering,
    unpin_all,
)

__all__ = [
    "COUNTER_FIELDS",
    "DEFAULT_BPFFS_ROOT",
    "MODES",
    "PINNED_MAPS",
    "FdbEntry",
    "PortMode",
    "XdpBackendUnavailable",
    "XdpError",
    "XdpMapsNotFound",
    "XdpSteering",
    "XdpValueError",
    "instance_dir",
    "pin_port_maps",
    "remove_instance",
    "unpin_all",
]
