"""Exceptions of the XDP steering API: every message is one readable line."""

from __future__ import annotations


class XdpError(Exception):
    """Base class: the CLI prints ``str(exc)`` on one line and exits 1."""


class XdpBackendUnavailable(XdpError):
    """Neither libbpf.so.1 nor BCC's libbcc could be loaded."""


class XdpMapsNotFound(XdpError):
    """The pinned spp_* maps are missing under the bpffs root."""


class XdpValueError(XdpError, ValueError):
    """A bad argument: MAC address, VLAN id, mode or interface."""
