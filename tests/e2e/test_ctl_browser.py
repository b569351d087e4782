"""What a web page in the operator's browser can make the controller do: nothing.

Real headless Chromium (Debian's, driven by playwright), the real controller, primary
and spp_vf. A page served from another origin (127.0.0.2) tries a no-cors fetch, a
form POST and a websocket; a DNS-rebinding page (a name the browser resolves to the
controller's address) tries the same from "its own" origin. Afterwards vf 1's status
is what it was and the controller's log holds an audit line for each refusal. The same
requests from a page of the controller's own origin still work.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from spp.testkit.stack import SPP, Stack
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ATTACKER_IP = "127.0.0.2"
REBIND_NAME = "rebind.attacker.example"
BODY = {"name": "evil1", "core": 3, "type": "forward"}

ATTACK_PAGE = """<!doctype html>
<html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="{api}/v1/vfs/1/components">
<input name='{{"name": "evil2", "core": 4, "type": "forward", "x": "' value='"}}'>
</form>
<script>
window.results = {{}};
async function attack() {{
  const url = "{api}/v1/vfs/1/components";
  try {{
    const r = await fetch(url, {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({body})}});
    results.nocors = r.type;
  }} catch (e) {{ results.nocors = "error " + e; }}
  try {{
    await fetch(url, {{method: "POST", headers: {{"Content-Type": "application/json"}},
                      body: JSON.stringify({body})}});
    results.cors = "answered";
  }} catch (e) {{ results.cors = "blocked"; }}
  try {{
    await fetch("{api}/v1/vfs/1", {{method: "DELETE"}});
    results.delete = "answered";
  }} catch (e) {{ results.delete = "blocked"; }}
  await new Promise((done) => {{
    document.querySelector("iframe").onload = done;
    document.getElementById("f").submit();
  }});
  results.form = "submitted";
  results.ws = await new Promise((done) => {{
    const ws = new WebSocket("{ws}/v1/topo/ws");
    ws.onopen = () => done("open");
    ws.onclose = (e) => done("closed " + e.code);
  }});
  results.done = true;
}}
attack();
</script></body></html>
"""


def _attacker_server(page: str) -> ThreadingHTTPServer:
    body = page.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((ATTACKER_IP, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def vf_stack(default_topology: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("browser")) as s:
        s.start_ctl()
        s.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
        s.start_vf(1, "2-6")
        yield s


@pytest.fixture(scope="module")
def browser(vf_stack: Stack) -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} is missing (scripts/setup.sh installs the chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--host-resolver-rules=MAP {REBIND_NAME} 127.0.0.1, EXCLUDE localhost"])
        try:
            yield chromium
        finally:
            chromium.close()


def _components(stack: Stack) -> list[dict[str, Any]]:
    return [c for c in stack.vf_status(1)["components"] if c.get("type") != "unuse"]


def _vf_status_text(stack: Stack) -> str:
    """What `vf 1; status` prints (the operator's view, with our CLI)."""
    res = subprocess.run([*SPP, "vf", "1", "status"], capture_output=True, text=True,
                         timeout=30, env={**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"})
    assert res.returncode == 0, res.stderr
    return res.stdout


def _audit_lines(stack: Stack, result: str) -> list[str]:
    text = (stack.logdir / "ctl.log").read_text(errors="replace")
    return [ln for ln in text.splitlines() if f"audit result={result} " in ln]


def _run_page(browser: Any, url: str) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("window.results && window.results.done === true",
                               timeout=20000)
        return dict(page.evaluate("window.results"))
    finally:
        page.close()


def test_page_from_another_origin_changes_nothing_and_each_refusal_is_audited(
        vf_stack: Stack, browser: Any) -> None:
    before = _vf_status_text(vf_stack)
    assert "Basic Information:" in before
    refused_before = len(_audit_lines(vf_stack, "refused_origin"))
    api = f"http://127.0.0.1:{vf_stack.api}"
    server = _attacker_server(ATTACK_PAGE.format(
        api=api, ws=f"ws://127.0.0.1:{vf_stack.api}", body=json.dumps(BODY)))
    try:
        results = _run_page(browser, f"http://{ATTACKER_IP}:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
    assert results["nocors"] == "opaque"  # the browser sent it; the answer is hidden
    assert results["cors"] == "blocked" and results["delete"] == "blocked"
    assert results["form"] == "submitted"
    assert results["ws"].startswith("closed")
    assert _vf_status_text(vf_stack) == before
    assert not any(c.get("name", "").startswith("evil") for c in _components(vf_stack))
    lines = _audit_lines(vf_stack, "refused_origin")[refused_before:]
    posts = [ln for ln in lines if 'method=POST resource="/v1/vfs/1/components"' in ln]
    # the no-cors fetch, the form, and the preflight-free part of the JSON fetch (its
    # preflight, an OPTIONS, is refused first and the POST never follows)
    assert len(posts) >= 2, lines
    assert any("method=OPTIONS" in ln for ln in lines), lines
    assert any('method=GET resource="/v1/topo/ws"' in ln for ln in lines), lines
    assert all(re.search(r"peer=127\.0\.0\.1:\d+ client=\"[^\"]*Chrome", ln) for ln in lines)
    assert all("reason=" in ln and "http://127.0.0.2:" in ln for ln in lines)


def test_rebound_host_name_gets_nothing(vf_stack: Stack, browser: Any) -> None:
    before = _vf_status_text(vf_stack)
    refused_before = len(_audit_lines(vf_stack, "refused_host"))
    page = browser.new_page()
    try:
        res = page.goto(f"http://{REBIND_NAME}:{vf_stack.api}/v1/processes")
        assert res is not None and res.status == 421
        assert "spp ctl" not in page.content() and '"type"' not in page.content()
        status = page.evaluate("""async (body) => {
            const r = await fetch("/v1/vfs/1/components", {method: "POST",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
            return r.status; }""", BODY)
        assert status == 421
    finally:
        page.close()
    assert _vf_status_text(vf_stack) == before
    lines = _audit_lines(vf_stack, "refused_host")[refused_before:]
    assert len(lines) >= 2 and all(REBIND_NAME in ln for ln in lines), lines


def test_page_of_the_controllers_own_origin_still_works(vf_stack: Stack, browser: Any) -> None:
    page = browser.new_page()
    accepted_before = len(_audit_lines(vf_stack, "accepted"))
    try:
        res = page.goto(f"http://127.0.0.1:{vf_stack.api}/v1/openapi.json")
        assert res is not None and res.status == 200
        body = {"name": "page1", "core": 3, "type": "forward"}
        status = page.evaluate("""async (body) => {
            const r = await fetch("/v1/vfs/1/components", {method: "POST",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
            return r.status; }""", body)
        assert status == 204
        assert any(c.get("name") == "page1" for c in _components(vf_stack))
        status = page.evaluate("""async () => (await fetch("/v1/vfs/1/components/page1",
            {method: "DELETE"})).status""")
        assert status == 204
        wait_for(lambda: not any(c.get("name") == "page1" for c in _components(vf_stack)),
                 10, "page1 to stop")
    finally:
        page.close()
    lines = _audit_lines(vf_stack, "accepted")[accepted_before:]
    assert [re.search(r"method=(\w+)", ln).group(1) for ln in lines] == ["POST", "DELETE"]  # type: ignore[union-attr]
