"""The C core's limits and codes, as native/include/spp_native.h defines them.

Read from `spp._limits`, which `make build` (spp.native.build) compiles from
the header's integer `#define`s; it needs no DPDK, so any part of SPP may
import this module.
"""

from __future__ import annotations

try:
    from spp._limits import lib as _lib
except ImportError as exc:  # pragma: no cover - a source tree without `make build`
    raise ImportError(f"the C core's limits are not built ({exc}); run `make build` "
                      "in the source tree") from None

SPP_NAMESIZE: int = _lib.SPP_NAMESIZE
SPP_MAX_PHY: int = _lib.SPP_MAX_PHY
SPP_MAX_RINGS: int = _lib.SPP_MAX_RINGS
SPP_MAX_VHOST: int = _lib.SPP_MAX_VHOST
SPP_MAX_COMPONENTS: int = _lib.SPP_MAX_COMPONENTS
SPP_MAX_COMP_PORTS: int = _lib.SPP_MAX_COMP_PORTS
SPP_MAX_COMP_PER_LCORE: int = _lib.SPP_MAX_COMP_PER_LCORE
SPP_VF_MAX_PORTS: int = _lib.SPP_VF_MAX_PORTS
SPP_NFV_MAX_PORTS: int = _lib.SPP_NFV_MAX_PORTS
SPP_MAX_LCORES: int = _lib.SPP_MAX_LCORES
SPP_RES_PHY: int = _lib.SPP_RES_PHY
SPP_RES_RING: int = _lib.SPP_RES_RING
SPP_RES_VHOST: int = _lib.SPP_RES_VHOST
SPP_COMP_FORWARD: int = _lib.SPP_COMP_FORWARD
SPP_COMP_MERGE: int = _lib.SPP_COMP_MERGE
SPP_COMP_CLASSIFIER: int = _lib.SPP_COMP_CLASSIFIER
SPP_COMP_MIRROR: int = _lib.SPP_COMP_MIRROR
SPP_VLAN_NONE: int = _lib.SPP_VLAN_NONE
SPP_VLAN_ADD: int = _lib.SPP_VLAN_ADD
SPP_VLAN_DEL: int = _lib.SPP_VLAN_DEL
SPP_DEV_BRIDGED: int = _lib.SPP_DEV_BRIDGED
SPP_DEV_DIRECT: int = _lib.SPP_DEV_DIRECT
SPP_CLS_NO_ENTRY: int = _lib.SPP_CLS_NO_ENTRY
SPP_CLS_HIT: int = _lib.SPP_CLS_HIT
SPP_CLS_FLOOD: int = _lib.SPP_CLS_FLOOD
SPP_CLS_DEFAULT: int = _lib.SPP_CLS_DEFAULT
SPP_MAX_DEV_QUEUES: int = _lib.SPP_MAX_DEV_QUEUES
SPP_VLAN_ID_MAX: int = _lib.SPP_VLAN_ID_MAX
SPP_BURST: int = _lib.SPP_BURST
SPP_RING_SIZE: int = _lib.SPP_RING_SIZE
SPP_BRIDGE_RING_SIZE: int = _lib.SPP_BRIDGE_RING_SIZE
SPP_BRIDGE_RING_MIN: int = _lib.SPP_BRIDGE_RING_MIN
SPP_BRIDGE_RING_MAX: int = _lib.SPP_BRIDGE_RING_MAX
SPP_MAX_BRIDGE_LCORES: int = _lib.SPP_MAX_BRIDGE_LCORES
SPP_VHOST_PORTS_DEFAULT: int = _lib.SPP_VHOST_PORTS_DEFAULT
SPP_POOL_LCORES: int = _lib.SPP_POOL_LCORES
SPP_MIN_MBUFS: int = _lib.SPP_MIN_MBUFS
SPP_CLS_MAX_ENTRIES: int = _lib.SPP_CLS_MAX_ENTRIES
SPP_PCAP_MAX_WRITERS: int = _lib.SPP_PCAP_MAX_WRITERS
SPP_PCAP_RING_SIZE: int = _lib.SPP_PCAP_RING_SIZE
SPP_PCAP_SNAPLEN_MAX: int = _lib.SPP_PCAP_SNAPLEN_MAX
SPP_PCAP_PATH_MAX: int = _lib.SPP_PCAP_PATH_MAX
