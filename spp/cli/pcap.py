"""`spp pcap`: launch spp_pcap, or talk to a running one (`spp pcap ID ...`)."""

from __future__ import annotations

import typer

from spp.cli import commands as C
from spp.cli.procapp import add_start, add_status, add_word, proc_app, sec_runner

app = proc_app(
    short_help="Launch spp_pcap, or control a running one: spp pcap ID COMMAND.",
    help="spp_pcap: `spp pcap start ARGS` (or EAL form `spp pcap -l 2-4 ... -- "
         "--client-id 1 -s IP:PORT -c phy:0 [--out-dir DIR] [--fsize BYTES]`) launches it; "
         "`spp pcap ID COMMAND` talks to pcap ID.",
)

_do = sec_runner("pcap", C.pcap_action)


def _capture(ctx: typer.Context) -> None:
    _do(ctx, ["start"])


add_start(app, "spp.proc.pcap",
          "Launch spp_pcap with ARGS (runs spp.proc.pcap.main); `spp pcap ID start`: capture.",
          on_id=_capture)
add_status(app, _do, "Show capture state, lcores, files and counters of pcap ID.")
add_word(app, _do, "stop", "Stop capturing; every file is completed.")
add_word(app, _do, "exit", "Terminate spp_pcap ID (a running capture is stopped first).")
