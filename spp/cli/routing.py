"""Click group that routes `spp primary|vf` to a process main or to client commands.

- `spp vf start ARGS...` or `spp vf -l 2-6 ... -- --client-id 1 ...` (first word
  starts with `-`) -> `spp.proc.vf.main(ARGS)`, exit code passed through;
- `spp vf 1 status` (integer first) -> client commands, the id kept in ctx.meta.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

from spp.resources import is_ascii_id

LAUNCH_ARGS = "spp.launch_args"
SEC_ID = "spp.sec_id"


class ProcGroup(TyperGroup):
    takes_id = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in ("--help", "-h"):
            if args[0].startswith("-"):
                ctx.meta[LAUNCH_ARGS] = list(args)
                args = ["start"]
            elif args[0] == "start":
                ctx.meta[LAUNCH_ARGS] = list(args[1:])
                args = ["start"]
            elif self.takes_id and is_ascii_id(args[0]):
                ctx.meta[SEC_ID] = int(args[0])
                args = args[1:]
                if not args:
                    args = ["status"]
        return super().parse_args(ctx, args)


class VfGroup(ProcGroup):
    takes_id = True
