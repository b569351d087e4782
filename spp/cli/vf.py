"""`spp vf`: launch spp_vf, or talk to a running one (`spp vf ID ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.common import fail
from spp.cli.procapp import add_start, add_status, add_word, proc_app, sec_runner

app = proc_app(
    short_help="Launch spp_vf, or configure a running one: spp vf ID COMMAND.",
    help="spp_vf: `spp vf start ARGS` (or EAL form `spp vf -l 2-6 ... -- --client-id 1 ...`) "
         "launches it; `spp vf ID COMMAND` talks to vf ID.",
)
component_app = typer.Typer(help="Start or stop a worker component.", no_args_is_help=True)
port_app = typer.Typer(help="Attach (add) or detach (del) a port of a component.",
                       no_args_is_help=True)
cls_app = typer.Typer(help="Add or delete classifier_table entries (mac | vlan).",
                      no_args_is_help=True)
app.add_typer(component_app, name="component")
app.add_typer(port_app, name="port")
app.add_typer(cls_app, name="classifier-table")

_do = sec_runner("vf", C.vf_action)
add_start(app, "spp.proc.vf", "Launch spp_vf with ARGS (runs spp.proc.vf.main).")
add_status(app, _do, "Show components, ports and classifier table of vf ID.")
add_word(app, _do, "exit", "Terminate spp_vf ID.")


@component_app.command("start")
def component_start(ctx: typer.Context, name: str, core: str, role: str) -> None:
    """Start component NAME on worker lcore CORE with ROLE (forward|merge|classifier)."""
    _do(ctx, ["component", "start", name, core, role])


@component_app.command("stop")
def component_stop(ctx: typer.Context, name: str) -> None:
    """Stop component NAME."""
    _do(ctx, ["component", "stop", name])


def _port(ctx: typer.Context, op: str, words: list[str], nq: int | None,
          add_vlantag: tuple[int, int] | None, del_vlantag: bool) -> None:
    if len(words) < 3:
        fail(f"Invalid syntax, usage: {C.PORT_USAGE}")
    uid, rest = words[0], words[1:]
    out = ["port", op, uid]
    if nq is not None:
        out += ["nq", str(nq)]
    out += rest
    if add_vlantag is not None and del_vlantag:
        fail("Error: --add-vlantag and --del-vlantag exclude each other.")
    if add_vlantag is not None:
        out += ["add_vlantag", str(add_vlantag[0]), str(add_vlantag[1])]
    if del_vlantag:
        out += ["del_vlantag"]
    _do(ctx, out)


NqOpt = Annotated[int | None, typer.Option("--nq", help="Queue of a phy port.")]
AddVlanOpt = Annotated[tuple[int, int] | None, typer.Option(
    "--add-vlantag", metavar="VID PCP", help="Push an 802.1Q tag.")]
DelVlanOpt = Annotated[bool, typer.Option("--del-vlantag", help="Strip the 802.1Q tag.")]
WordsArg = Annotated[list[str], typer.Argument(
    metavar="RES_UID [nq Q] DIR NAME [add_vlantag VID PCP|del_vlantag]")]


@port_app.command("add")
def port_add(ctx: typer.Context, words: WordsArg, nq: NqOpt = None,
             add_vlantag: AddVlanOpt = None, del_vlantag: DelVlanOpt = False) -> None:
    """Attach RES_UID as DIR (rx|tx) port of component NAME."""
    _port(ctx, "add", words, nq, add_vlantag, del_vlantag)


@port_app.command("del")
def port_del(ctx: typer.Context, words: WordsArg, nq: NqOpt = None) -> None:
    """Detach RES_UID (DIR rx|tx) from component NAME."""
    _port(ctx, "del", words, nq, None, False)


ClsArg = Annotated[list[str], typer.Argument(metavar="mac MAC RES_UID | vlan VID MAC RES_UID")]


@cls_app.command("add")
def cls_add(ctx: typer.Context, words: ClsArg) -> None:
    """Add `mac MAC RES_UID` or `vlan VID MAC RES_UID`."""
    _do(ctx, ["classifier_table", "add", *words])


@cls_app.command("del")
def cls_del(ctx: typer.Context, words: ClsArg) -> None:
    """Delete `mac MAC RES_UID` or `vlan VID MAC RES_UID`."""
    _do(ctx, ["classifier_table", "del", *words])
