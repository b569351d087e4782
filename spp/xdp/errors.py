"""Exceptions of the XDP steering API: every message is one readable line."""

from __future__ import annotations

from spp.errors import NotFound, Refused, SppError, Unavailable


class XdpError(SppError):
    """Base class: the CLI prints ``str(exc)`` on one line and exits 1."""


class XdpBackendUnavailable(XdpError, Unavailable):
    """Neither libbpf.so.1 nor BCC's libbcc could be loaded."""


class XdpMapsNotFound(XdpError, NotFound):
    """The pinned spp_* maps are missing under the bpffs root."""


class XdpValueError(XdpError, Refused, ValueError):
    """A bad argument: MAC address, VLAN id, mode or interface."""
