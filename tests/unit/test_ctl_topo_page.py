"""The controller's live topology page (spp/ctl/topo_page.py) with fake processes: the page
and its assets are served locally, the websocket pushes a new drawing on a change."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import aiohttp
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402


@pytest.fixture
def stack(tmp_path, monkeypatch):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path / "run"))
    s = Stack(timeout=1.0)
    s.pri = s.add(FakePrimary(nring=2))
    s.vf = s.add(FakeVf(1))
    s.vf.comps["fwd1"] = {"core": 3, "name": "fwd1", "type": "forward",
                          "rx_port": [{"port": "phy:0"}], "tx_port": [{"port": "ring:0"}]}
    yield s
    s.close()


def test_page_and_assets_are_served_locally_without_cors(stack) -> None:
    res = requests.get(f"{stack.base}/topo", timeout=5)
    assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]+)"', res.text)
    assert refs and all(r.startswith("/topo/static/") for r in refs)
    for ref in refs:
        asset = requests.get(stack.base + ref, timeout=5)
        assert asset.status_code == 200 and "http" not in asset.text.replace("https:", "")
        assert "Access-Control-Allow-Origin" not in asset.headers
    assert requests.get(f"{stack.base}/topo/static/nope.js", timeout=5).status_code == 404


def test_websocket_pushes_the_drawing_and_a_new_one_after_a_change(stack) -> None:
    async def run() -> tuple[dict, dict]:
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"{stack.base}/topo/events") as ws:
            first = json.loads((await ws.receive(timeout=10)).data)
            stack.vf.comps.pop("fwd1")
            second = json.loads((await ws.receive(timeout=10)).data)
            return first, second

    first, second = asyncio.run(run())
    assert "vf_1_fwd1" in first["nodes"] and "<svg" in first["svg"]
    assert "<title>vf_1_fwd1</title>" in first["svg"]
    assert "vf_1_fwd1" not in second["nodes"] and "proc_vf_1" in second["nodes"]
    assert {r["port"] for r in first["ports"]} == {"phy:0", "phy:1", "ring:0", "ring:1"}
