"""`spp ctl`: run the REST API and the process listeners in one asyncio loop.

The REST API answers only requests spp.httppolicy lets through (its own Host and
Origin, JSON bodies); with `auth="token"` it also creates a random token in the
run directory (spp.rundir.token_path, mode 0600) that every call must present
as `Authorization: Bearer <token>`, and removes it when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from spp import defaults, rundir, safefile, wire
from spp.ctl import guard
from spp.ctl.conn import DEFAULT_TIMEOUT
from spp.ctl.registry import Registry, start_listeners
from spp.ctl.rest import make_app
from spp.ctl.saved import Saved
from spp.httppolicy import HttpPolicy

AUTH_MODES = ("none", "token")

log = logging.getLogger("spp.ctl")


@dataclass
class Controller:
    """A running controller; ports 0 pick free ephemeral ports (tests)."""

    bind: str = defaults.LOCALHOST
    pri_port: int = defaults.PRIMARY_PORT
    sec_port: int = defaults.SECONDARY_PORT
    api_port: int = defaults.API_PORT
    timeout: float = DEFAULT_TIMEOUT
    heartbeat: float = wire.HEARTBEAT_S
    allow_hosts: tuple[str, ...] = ()
    auth: str = "none"
    restore: str = "on"
    state_file: Path | None = None
    registry: Registry = field(init=False)
    token: str | None = field(default=None, init=False)
    _token_path: Path | None = field(default=None, init=False)
    _servers: list[asyncio.Server] = field(default_factory=list, init=False)
    _runner: web.AppRunner | None = field(default=None, init=False)

    async def start(self) -> None:
        self.registry = Registry(heartbeat=self.heartbeat,
                                 saved=Saved(self.restore, self.state_file))
        pri, sec = await start_listeners(self.registry, self.bind, self.pri_port, self.sec_port)
        self._servers = [pri, sec]
        self.pri_port = pri.sockets[0].getsockname()[1]
        self.sec_port = sec.sockets[0].getsockname()[1]
        if self.auth not in AUTH_MODES:
            raise ValueError(f"unknown --auth '{self.auth}' (none, token)")
        self.token = secrets.token_urlsafe(32) if self.auth == "token" else None
        hint = str(rundir.token_path(self.api_port) if self.api_port
                   else rundir.root() / "ctl-<REST port>.token")
        policy = HttpPolicy.make(self.bind, self.allow_hosts, self.token, hint)
        listening = guard.Listening(self.bind, self.api_port, self.pri_port, self.sec_port,
                                    self.auth)
        self._runner = web.AppRunner(make_app(self.registry, self.timeout, policy, listening),
                                     access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.api_port)
        await site.start()
        server = site._server  # noqa: SLF001 - the only way to learn an ephemeral port
        if isinstance(server, asyncio.Server) and self.api_port == 0:
            self.api_port = server.sockets[0].getsockname()[1]
        listening.api_port = self.api_port
        if self.token is not None:
            self._token_path = rundir.token_path(self.api_port)
            safefile.write_private_atomic(self._token_path, self.token.encode() + b"\n",
                                          secret=True)
        self.registry.controller_addr = f"{self.bind}:{self.api_port}"
        log.info(
            "spp ctl: REST %s:%d, primary %d, secondary %d, auth %s%s",
            self.bind,
            self.api_port,
            self.pri_port,
            self.sec_port,
            self.auth,
            f" (token in {self._token_path})" if self._token_path else "",
        )

    async def stop(self) -> None:
        if self._token_path is not None and self.token is not None:
            with contextlib.suppress(OSError, safefile.UnsafeFile):
                if safefile.read_private(self._token_path, secret=True).strip() == \
                        self.token.encode():
                    safefile.remove_private(self._token_path)
        self.registry.close_all()
        for s in self._servers:
            s.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self.registry.saved.close()


async def serve(ctl: Controller, pid_file: Path | None = None) -> None:
    await ctl.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with rundir.pid_file(pid_file):
        try:
            await stop.wait()
        finally:
            await ctl.stop()


def run(
    bind: str,
    pri_port: int,
    sec_port: int,
    api_port: int,
    pid_file: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_hosts: tuple[str, ...] = (),
    auth: str = "none",
    restore: str = "on",
    state_file: Path | None = None,
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ctl = Controller(bind, pri_port, sec_port, api_port, timeout, allow_hosts=allow_hosts,
                     auth=auth, restore=restore, state_file=state_file)
    asyncio.run(serve(ctl, pid_file))
