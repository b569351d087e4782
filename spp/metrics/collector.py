"""`SppCollector`: a prometheus_client custom collector reading `spp ctl` on every scrape."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from spp.metrics.families import Families
from spp.metrics.reader import DEFAULT_CTL_URL, DEFAULT_TIMEOUT, CtlReader
from spp.metrics.snapshot import JsonGetter, take_snapshot


class SppCollector(Collector):
    """Exposes SPP counters. A scrape never raises: what cannot be read is left out and
    shows as `spp_up{process=...} 0`. `process` is `ctl`, `primary` or `TYPE:N` (`vf:1`,
    `nfv:2`, `mirror:3`); secondaries seen
    in an earlier scrape keep a `0` series after they leave, so alerts can fire."""

    def __init__(
        self,
        ctl_url: str = DEFAULT_CTL_URL,
        timeout: float = DEFAULT_TIMEOUT,
        reader: JsonGetter | None = None,
    ) -> None:
        self.reader: JsonGetter = reader or CtlReader(ctl_url, timeout)
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def describe(self) -> Iterator[Metric]:
        # Declared so registering does not trigger a scrape of the controller.
        yield from Families().metrics()

    def collect(self) -> Iterator[Metric]:
        fams = Families()
        try:
            self._fill(fams)
        except Exception:  # a scrape must succeed whatever the JSON holds
            fams = Families()
            fams.add_up("ctl", False)
        yield from fams.metrics()

    def _fill(self, fams: Families) -> None:
        snap = take_snapshot(self.reader)
        up: dict[str, bool] = {"ctl": snap.ctl_up, "primary": snap.primary is not None}
        if snap.ctl is not None:
            fams.add_ctl(snap.ctl)
        if snap.primary is not None:
            fams.add_primary(snap.primary)
        for (kind, cid), status in sorted(snap.secondaries.items()):
            up[f"{kind}:{cid}"] = status is not None
            if status is not None:
                fams.add_secondary(kind, cid, status)
        for other in snap.others:
            up[other] = True  # listed by the controller; no status endpoint to read
        with self._lock:
            self._known.update(up)
            known = sorted(self._known)
        for process in known:
            fams.add_up(process, up.get(process, False))
