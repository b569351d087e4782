"""`spp ctl`: run the REST API and the process listeners in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from spp import rundir, wire
from spp.ctl.conn import DEFAULT_TIMEOUT
from spp.ctl.registry import Registry, start_listeners
from spp.ctl.rest import make_app
from spp.ctl.saved import Saved

log = logging.getLogger("spp.ctl")


@dataclass
class Controller:
    """A running controller; ports 0 pick free ephemeral ports (tests)."""

    bind: str = "127.0.0.1"
    pri_port: int = 5555
    sec_port: int = 6666
    api_port: int = 7777
    timeout: float = DEFAULT_TIMEOUT
    heartbeat: float = wire.HEARTBEAT_S
    restore: str = "on"
    state_file: Path | None = None
    registry: Registry = field(init=False)
    _servers: list[asyncio.Server] = field(default_factory=list, init=False)
    _runner: web.AppRunner | None = field(default=None, init=False)

    async def start(self) -> None:
        self.registry = Registry(heartbeat=self.heartbeat,
                                 saved=Saved(self.restore, self.state_file))
        pri, sec = await start_listeners(self.registry, self.bind, self.pri_port, self.sec_port)
        self._servers = [pri, sec]
        self.pri_port = pri.sockets[0].getsockname()[1]
        self.sec_port = sec.sockets[0].getsockname()[1]
        self._runner = web.AppRunner(make_app(self.registry, self.timeout), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.api_port)
        await site.start()
        server = site._server  # noqa: SLF001 - the only way to learn an ephemeral port
        if server is not None and self.api_port == 0:
            self.api_port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.registry.controller_addr = f"{self.bind}:{self.api_port}"
        log.info(
            "spp ctl: REST %s:%d, primary %d, secondary %d",
            self.bind,
            self.api_port,
            self.pri_port,
            self.sec_port,
        )

    async def stop(self) -> None:
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
    restore: str = "on",
    state_file: Path | None = None,
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(Controller(bind, pri_port, sec_port, api_port, timeout,
                                 restore=restore, state_file=state_file), pid_file))
