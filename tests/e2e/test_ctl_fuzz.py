"""REST v1 fuzzed by schemathesis against the real controller, primary and spp_vf.

Schemathesis reads the controller's own OpenAPI description (/v1/openapi.json),
generates valid and invalid requests for every operation (the three that end
or start processes are done by hand below) and checks: no 5xx, documented
status codes and content types, responses matching their schemas, invalid
data refused. Afterwards both processes still run with the same pids and are
connected, and the state read back equals the state an independent oracle
builds from the requests that succeeded (recorded in schemathesis' HAR file).

The run's summary is printed (it appears in `make test` output).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from spp import resources as R
from spp.testkit.stack import Stack, component, port, table

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 100
SEED = 20261121
ST = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; "
      "sys.exit(schemathesis())"]
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,negative_data_rejection")
EXCLUDED = ("putPrimaryLaunch", "deletePrimary", "deleteVf")  # by hand, below
CONFIG = """
[dictionaries.names]
values = ["fz1", "fz2", "cls", "fwd1"]

[parameters]
"path.sec_id" = 1
"path.name" = { dictionary = "names", probability = 0.75 }
"""


@pytest.fixture(scope="module")
def fuzz_stack(default_topology: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    before = set(Path("/tmp").glob("sock[0-9]*"))
    with Stack(tmp_path_factory.mktemp("fuzz")) as s:
        s.start_ctl()
        s.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
        s.start_vf(1, "2-4")
        s.vf(1, component("cls", 3, "classifier"), component("fwd1", 4, "forward"),
             port("add", "phy:0", "rx", "cls"), port("add", "ring:0", "tx", "cls"),
             port("add", "ring:0", "rx", "fwd1"), port("add", "phy:1", "tx", "fwd1"),
             table("add", "52:54:00:12:34:56", "ring:0"))
        yield s
    for sock in set(Path("/tmp").glob("sock[0-9]*")) - before:  # vhost:N sockets fuzzing made
        if sock.is_socket():
            sock.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# an oracle independent of the processes: what the successful requests must have built


class Oracle:
    def __init__(self, vf: dict[str, Any], primary: dict[str, Any]) -> None:
        self.comps: dict[str, dict[str, Any]] = {
            c["name"]: {"core": c["core"], "type": c["type"], "rx": list(c["rx_port"]),
                        "tx": list(c["tx_port"])} for c in vf["components"] if "name" in c}
        self.table: list[dict[str, Any]] = list(vf["classifier_table"])
        self.patches = {p["src"]: p["dst"] for p in primary["forwarder"]["patches"]}
        self.applied = 0

    def apply(self, method: str, path: str, body: Any) -> None:
        parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]]  # after /v1/
        self.applied += 1
        if parts[:1] == ["primary"]:
            if parts == ["primary", "patches"]:
                if method == "DELETE":
                    self.patches.clear()
                else:
                    self.patches[str(R.parse_uid(body["src"]))] = str(R.parse_uid(body["dst"]))
            return
        if len(parts) < 3 or parts[0] != "vfs" or int(parts[1]) != 1:
            return
        if method == "POST" and parts[2:] == ["components"]:
            kind = "classifier" if body["type"] == "classifier_mac" else body["type"]
            self.comps[body["name"]] = {"core": body["core"], "type": kind, "rx": [], "tx": []}
        elif method == "DELETE" and len(parts) == 4:
            del self.comps[parts[3]]
        elif parts[2:3] == ["components"] and parts[4:] == ["ports"]:
            ref = R.parse_port(body["port"])
            if "nq" in body and not ref.queue:
                ref = R.PortRef(ref.uid, int(body["nq"]))
            ports = self.comps[parts[3]][body["dir"]]
            if body["action"] == "detach":
                ports.remove(next(p for p in ports if p["port"] == str(ref)))
            else:
                ports.append({"port": str(ref), "vlan": self._vlan(body.get("vlan"))})
        elif parts[2:] == ["classifier_table"]:
            for one in body if isinstance(body, list) else [body]:  # a list: one transaction
                self._table(one)

    def _table(self, body: dict[str, Any]) -> None:
        _raw, shown = R.parse_table_mac(body["mac_address"])
        value = shown if body["type"] == "mac" else f"{int(body['vlan'])}/{shown}"
        entry = {"type": body["type"], "value": value, "port": str(R.parse_port(body["port"]))}
        if body["action"] == "add":
            self.table.append(entry)
        else:
            self.table.remove(entry)

    @staticmethod
    def _vlan(v: Any) -> dict[str, Any]:
        if not v or v.get("operation") in (None, "none"):
            return {"operation": "none", "id": 0, "pcp": 0}
        if v["operation"] == "del":
            return {"operation": "del", "id": 0, "pcp": 0}
        return {"operation": "add", "id": int(v["id"]), "pcp": int(v["pcp"])}

    def vf_view(self) -> dict[str, Any]:
        return {"components": {n: c for n, c in sorted(self.comps.items())},
                "classifier_table": self.table}


def vf_view(st: dict[str, Any]) -> dict[str, Any]:
    comps = {c["name"]: {"core": c["core"], "type": c["type"], "rx": c["rx_port"],
                         "tx": c["tx_port"]} for c in st["components"] if "name" in c}
    return {"components": dict(sorted(comps.items())),
            "classifier_table": st["classifier_table"]}


def _summary(out: str) -> list[str]:
    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if "SUMMARY" in ln), max(0, len(lines) - 25))
    return [ln for ln in lines[start:] if ln.strip()]


def test_schemathesis_finds_no_server_error_and_state_matches_what_succeeded(
        fuzz_stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = fuzz_stack
    pids = {n: p.pid for n, p in stack.procs.items()}
    oracle = Oracle(stack.vf_status(), stack.primary_status())
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    har = tmp_path / "fuzz.har"
    argv = [*ST, "--config-file", str(config), "run",
            f"http://127.0.0.1:{stack.api}/v1/openapi.json",
            "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
            "--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-color",
            "--request-timeout", "20", "--report", "har", "--report-har-path", str(har),
            "--suppress-health-check", "all", "--warnings", "off"]
    for op in EXCLUDED:
        argv += ["--exclude-operation-id", op]
    t0 = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    took = time.monotonic() - t0
    summary = _summary(res.stdout)
    with capsys.disabled():
        print(f"\nschemathesis against the real controller, primary and spp_vf ({took:.0f} s):")
        for line in summary:
            print(f"  {line}")
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    statuses = [e["response"]["status"] for e in entries]
    server_errors = [s for s in statuses if s >= 500]
    with capsys.disabled():
        print(f"  {len(entries)} requests recorded, {sum(s < 300 for s in statuses)} succeeded, "
              f"{len(server_errors)} server errors")
    assert len(entries) > 300 and server_errors == []
    (tmp_path.parent / "last-fuzz.har").write_text(har.read_text())  # for a look afterwards
    # both processes still run, the same ones, and are connected
    assert all(p.poll() is None for p in stack.procs.values())
    assert {n: p.pid for n, p in stack.procs.items()} == pids
    assert {p["type"] for p in stack.client.processes()} == {"primary", "vf"}
    # the state read back is what the successful requests built
    for e in entries:
        req = e["request"]
        if e["response"]["status"] >= 300 or req["method"] == "GET":
            continue
        text = (req.get("postData") or {}).get("text") or "null"
        oracle.apply(req["method"], urllib.parse.urlsplit(req["url"]).path, json.loads(text))
    assert oracle.applied > 20
    assert vf_view(stack.vf_status()) == oracle.vf_view()
    patches = {p["src"]: p["dst"] for p in stack.primary_status()["forwarder"]["patches"]}
    assert patches == oracle.patches


# ---------------------------------------------------------------------------
# the classes of bad input, by hand, against the real processes


def test_non_ascii_digit_ids_never_reach_vf_1(fuzz_stack: Stack) -> None:
    base = f"http://127.0.0.1:{fuzz_stack.api}/v1"
    for raw in ("%D9%A1", "%C2%B2", "%EF%BC%91", "1" * 5000):
        res = requests.delete(f"{base}/vfs/{raw}", timeout=10)
        assert res.status_code == 404 and len(res.text) < 300
    assert fuzz_stack.procs["vf1"].poll() is None
    assert {"type": "vf", "client-id": 1} in fuzz_stack.client.processes()


@pytest.mark.parametrize("path, body", [
    ("vfs/1/components", {"name": "x" * 600_000, "core": 3, "type": "forward"}),
    ("vfs/1/components", {"name": "\u00e9" * 10_000, "core": 3, "type": "forward"}),
    ("primary/launch", {"proc_name": "spp_vf", "client_id": "2",
                        "eal": {"-l": "\u00e9" * 10_000}, "app": {}}),
    ("primary/launch", {"proc_name": "spp_vf", "client_id": "2",
                        "eal": {"-l": "1" * 600_000}, "app": {}}),
    ("vfs/1/classifier_table", {"action": "add", "type": "mac", "port": "ring:4294967296",
                                "mac_address": "52:54:00:12:34:57"}),
    ("vfs/1/components", "[" * 30000 + "]" * 30000),
])
def test_oversized_and_out_of_range_input_is_refused_and_processes_live(
        fuzz_stack: Stack, path: str, body: Any) -> None:
    before = fuzz_stack.vf_status()
    url = f"http://127.0.0.1:{fuzz_stack.api}/v1/{path}"
    method = "POST" if path.endswith("components") else "PUT"
    res = (requests.request(method, url, data=body, timeout=10,
                            headers={"Content-Type": "application/json"})
           if isinstance(body, str)
           else requests.request(method, url, json=body, timeout=10))
    assert res.status_code in (400, 413) and len(res.text) < 400, res.text
    assert all(p.poll() is None for p in fuzz_stack.procs.values())
    assert vf_view(fuzz_stack.vf_status()) == vf_view(before)
