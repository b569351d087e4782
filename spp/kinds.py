"""The secondary process types, one table entry each.

Everything that treats secondaries alike reads this table: `pri; launch`
(REST `PUT /v1/primary/launch` and the primary's launcher), the topology's
`processes:` section with `spp up` / `spp down`, the controller's saved
configurations, the Prometheus exporter and `spp top`. A new secondary type
is one more entry in SECONDARY_KINDS.
"""

from __future__ import annotations

from dataclasses import dataclass

# application options every secondary takes (`-s` the controller, `--vhost-client`)
_COMMON_APP = ("--client-id", "-s", "--vhost-client")
# spp_pcap's (spp.proc.pcap): the captured port, where and how large its files are;
# it opens no vhost port, so it takes no --vhost-client
_PCAP_APP = ("--client-id", "-s", "-c", "--out-dir", "--fsize", "--snaplen")


@dataclass(frozen=True)
class SecondaryKind:
    """One secondary process type as the rest of SPP sees it."""

    name: str                   # `type` in GET /v1/processes; `spp NAME` runs it
    rest: str                   # its REST collection: /v1/REST/N
    id_opts: tuple[str, ...]    # application options carrying the client id, preferred first
    app_opts: tuple[str, ...]   # application options `launch` relays to it
    saved: str | None = None    # the saved configuration model it uses (spp.ctl.saved), if any

    @property
    def proc_name(self) -> str:
        """Upstream's binary name, as `launch` sends it: spp_vf, spp_nfv, ..."""
        return f"spp_{self.name}"

    @property
    def id_opt(self) -> str:
        """The option `launch` puts the client id in (upstream's: -n for spp_nfv)."""
        return self.id_opts[0]

    def pid_name(self, client_id: int) -> str:
        """Its pid and log file name in the run directory: vf1, nfv2, mirror3."""
        return f"{self.name}{client_id}"

    def label(self, client_id: int) -> str:
        """`vf:1`: how processes, metrics and saved models name one of them."""
        return f"{self.name}:{client_id}"


SECONDARY_KINDS: dict[str, SecondaryKind] = {
    k.name: k for k in (
        SecondaryKind("vf", "vfs", ("--client-id",), _COMMON_APP, saved="components"),
        SecondaryKind("nfv", "nfvs", ("-n", "--client-id"), ("-n", *_COMMON_APP),
                      saved="patches"),
        SecondaryKind("mirror", "mirrors", ("--client-id",), _COMMON_APP, saved="components"),
        # a capture is started by hand (`pcap N; start`) and names files by the time it
        # began: nothing of it is restored to a process that starts again
        SecondaryKind("pcap", "pcaps", ("--client-id",), _PCAP_APP),
    )
}


def secondary_kind(name: object) -> SecondaryKind | None:
    """The kind named `vf` or `spp_vf` (upstream's CLI sends either), else None."""
    if not isinstance(name, str):
        return None
    return SECONDARY_KINDS.get(name[4:] if name.startswith("spp_") else name)


def app_client_id(kind: SecondaryKind, argv: list[str] | tuple[str, ...]) -> str | None:
    """The client id a command line of `kind` names (its value as written), else None.

    Upstream's form puts it after `--` (`-- -n 1` for spp_nfv, where `-n` before
    `--` is EAL's memory channels); the friendly form (`start --client-id 1`) has
    no `--`, and only `--client-id` counts there.
    """
    if "--" in argv:
        app, opts = list(argv[list(argv).index("--") + 1:]), kind.id_opts
    else:
        app, opts = list(argv), ("--client-id",)
    for i, tok in enumerate(app):
        for opt in opts:
            if opt.startswith("--") and tok.startswith(opt + "="):
                return tok.split("=", 1)[1]
            if tok == opt and i + 1 < len(app):
                return app[i + 1]
    return None
