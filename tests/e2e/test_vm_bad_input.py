"""Bad VM topologies: one line with the reason, a non-zero exit, no traceback, nothing left.

Each topology also declares a namespace and a veth pair, so a refusal after
the host part was started would show as a leftover.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from vmcase import spp

from spp import rundir
from spp.host import netdev
from spp.host.state import load_state
from spp.testkit.session import E2ELock

pytestmark = pytest.mark.e2e

HOST = """
name: ht-vmbad
namespaces: [ht-vmbad]
veths:
  - ends:
      - {name: ht-vb0, netns: ht-vmbad, ipv4: 198.19.251.1/24}
      - {name: ht-vb1}
"""
NIC0 = '{vhost: 20, mac: "52:54:00:77:00:01", ipv4: 198.19.251.11/24, ifname: ens4}'
NIC1 = '{vhost: 21, mac: "52:54:00:77:00:02", ifname: ens5}'


def _write(tmp_path: Path, vm_yaml: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(HOST + "vms:\n" + vm_yaml)
    return path


def _assert_one_line_refusal(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def _assert_nothing_left() -> None:
    assert not netdev.ns_exists("ht-vmbad")
    assert netdev.link_index("root", "ht-vb1") is None
    assert load_state("ht-vmbad") is None
    assert not list(rundir.instance_dir("spp").glob("vm-badvm*.pid"))
    assert not any(Path(f"/tmp/sock{i}").exists() for i in (20, 21))


@pytest.fixture
def clean(e2e_lock: E2ELock) -> None:
    _assert_nothing_left()


def test_vm_nic_naming_a_vhost_id_twice_is_refused(clean: None, tmp_path: Path) -> None:
    dup = NIC1.replace("vhost: 21", "vhost: 20")
    path = _write(tmp_path, f"  - name: badvm\n    nics: [{NIC0}, {dup}]\n")
    err = _assert_one_line_refusal(spp("host", "up", str(path), check=False), "vhost:20",
                                   "badvm")
    assert err.startswith("spp host: ")
    _assert_one_line_refusal(spp("up", "--topology", str(path), check=False), "vhost:20")
    _assert_nothing_left()


def test_vm_without_nics_is_refused(clean: None, tmp_path: Path) -> None:
    path = _write(tmp_path, "  - name: badvm\n    nics: []\n")
    _assert_one_line_refusal(spp("host", "up", str(path), check=False), "badvm",
                             "at least one NIC")
    _assert_nothing_left()


def test_missing_kernel_image_is_refused_before_anything_is_built(
        clean: None, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-vmlinuz"
    path = _write(tmp_path, f"  - name: badvm\n    kernel: {missing}\n    nics: [{NIC0}]\n")
    _assert_one_line_refusal(spp("host", "up", str(path), check=False), "kernel image",
                             str(missing), "not found")
    _assert_nothing_left()


def test_qemu_failing_to_start_shows_its_last_lines_and_leaves_nothing(
        clean: None, tmp_path: Path) -> None:
    path = _write(tmp_path, f"  - name: badvm\n    qemu_args: [-no-such-option]\n"
                            f"    nics: [{NIC0}, {NIC1}]\n")
    err = _assert_one_line_refusal(spp("host", "up", str(path), check=False),
                                   "QEMU exited with code 1",
                                   "-no-such-option: invalid option")
    assert "vm-badvm.log" in err
    _assert_nothing_left()
