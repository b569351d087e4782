"""QEMU VMs of a host topology: boot, watch and stop them; their vhost-user sockets.

Each VM NIC is a virtio-net-pci device on a vhost-user socket /tmp/sockN, the
socket of spp's `vhost:N` (native/src/primary/primary.c). Which side listens follows
spp_vf's mode (`Topology.vhost_client`):

- `--vhost-client`: QEMU is the server (`server=on,wait=off`); `start_vms`
  returns once every socket listens, and the guest boots as soon as spp_vf
  has connected to all of the VM's NICs;
- server mode: spp_vf creates /tmp/sockN when the port is added and QEMU
  connects to it (`reconnect=1`), retrying every second until it exists.

In both modes QEMU waits for all its vhost-user NICs before the guest runs.
QEMU's pid file and logs live in the instance's run directory (spp.rundir):
`vm-NAME.pid`, `vm-NAME.log` (QEMU's own messages) and `vm-NAME-console.log`
(the serial console; /init prints vmimage.READY_MARK there when sshd runs).
VMs are stopped by that pid file only.

Acceleration: KVM when it boots the image (probed once per host boot, cached
in the run directory), TCG otherwise. Under TCG, QEMU 7.2 crashes in
msix_set_vector_notifiers when a vhost-user virtio-net starts, so NICs use
INTx (`vectors=0`) there. Offloads are off on every NIC: nothing on spp's
path computes checksums or segments for the guest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spp import rundir, safefile
from spp.host import vmimage
from spp.host.topology import Topology, Vm, VmNic
from spp.safefile import UnsafeFile

QEMU = "qemu-system-x86_64"
SOCKET_FMT = "/tmp/sock{}"
ACCEL_ENV = "SPP_VM_ACCEL"
START_TIMEOUT_S = 60.0  # QEMU's own sign (listening sockets) within this, even on a loaded host
CLIENT_SETTLE_S = 1.0   # a connecting QEMU that survives this long has parsed its options
READY_TIMEOUT_S = 300.0  # default of `spp host wait` / `spp up --wait` (TCG boots slowly)
PROBE_TIMEOUT_S = 10.0
_LOG_HEADER = "spp-vm: "  # our own line at the top of the QEMU log (its command line)
NIC_OFFLOADS_OFF = ("csum", "gso", "guest_csum", "guest_tso4", "guest_tso6", "guest_ecn",
                    "guest_ufo", "host_tso4", "host_tso6", "host_ecn", "host_ufo")


class VmError(RuntimeError):
    """A VM could not be started or stopped; the message says why in one line."""


def vhost_socket(vhost_id: int) -> Path:
    """The vhost-user socket of spp's vhost:N."""
    return Path(SOCKET_FMT.format(vhost_id))


def proc_name(vm_name: str) -> str:
    return f"vm-{vm_name}"


@dataclass(frozen=True)
class VmPaths:
    pid: Path
    log: Path
    console: Path


def vm_paths(vm_name: str, instance: str) -> VmPaths:
    name = proc_name(vm_name)
    return VmPaths(rundir.pid_path(name, instance), rundir.log_path(name, instance),
                   rundir.log_path(f"{name}-console", instance))


def vm_pid(vm_name: str, instance: str) -> int | None:
    """The pid of the VM's QEMU while it runs, else None."""
    pid = rundir.read_pid(vm_paths(vm_name, instance).pid)
    return pid if pid is not None and rundir.is_ours(pid) else None


# ---- acceleration ---------------------------------------------------------
def _accel_cache() -> Path:
    return rundir.root() / "vm-accel"


def kvm_usable(image: vmimage.VmImage) -> tuple[bool, str]:
    """Boot the image once with KVM (no NICs): does it reach /init within the time limit?"""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "no usable /dev/kvm"
    if shutil.which(QEMU) is None:
        return False, f"{QEMU} not found"
    rundir.root().mkdir(parents=True, exist_ok=True)
    console = rundir.root() / "vm-accel-probe.log"
    console.unlink(missing_ok=True)
    argv = [QEMU, "-name", "spp-kvm-probe", "-nodefaults", "-no-user-config", "-display", "none",
            "-accel", "kvm", "-cpu", "host", "-m", "128", "-no-reboot",
            "-kernel", str(image.kernel), "-initrd", str(image.initrd),
            "-append", vmimage.kernel_cmdline("spp-kvm-probe", []),
            "-serial", f"file:{console}"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    ok = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if vmimage.READY_MARK in _read(console):
                ok = True
                break
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate()[0].decode(errors="replace").strip().splitlines()
        console.unlink(missing_ok=True)
    if ok:
        return True, "KVM boots the image"
    why = out[0] if out else f"no boot within {PROBE_TIMEOUT_S:g} s"
    return False, f"KVM unusable ({why})"


def choose_accel(requested: str, image: vmimage.VmImage) -> tuple[str, str]:
    """(accel, reason): `kvm`/`tcg` as asked, else $SPP_VM_ACCEL, else the cached probe."""
    if requested in ("kvm", "tcg"):
        return requested, "asked for in the topology"
    forced = os.environ.get(ACCEL_ENV)
    if forced in ("kvm", "tcg"):
        return forced, f"{ACCEL_ENV}={forced}"
    cache = _accel_cache()
    with contextlib.suppress(OSError, ValueError, UnsafeFile):
        accel, _, reason = safefile.read_private(cache).decode().partition(" ")
        if accel in ("kvm", "tcg"):
            return accel, reason.strip()
    ok, reason = kvm_usable(image)
    accel = "kvm" if ok else "tcg"
    with contextlib.suppress(OSError, UnsafeFile):
        safefile.write_private_atomic(cache, f"{accel} {reason}\n".encode())
    return accel, reason


# ---- QEMU command line ---------------------------------------------------
def _image_files(vm: Vm, base: Path | None) -> tuple[Path, Path]:
    image = vmimage.default_image()

    def resolve(value: str | None, default: Path) -> Path:
        if value is None:
            return default
        p = Path(value)
        return p if p.is_absolute() or base is None else base / p

    return resolve(vm.kernel, image.kernel), resolve(vm.initrd, image.initrd)


def _nic_args(i: int, nic: VmNic, vhost_client: bool, accel: str) -> list[str]:
    sock = vhost_socket(nic.vhost)
    mode = "server=on,wait=off" if vhost_client else "reconnect=1"
    device = [f"virtio-net-pci,netdev=net{i},mac={nic.mac},romfile="]
    device += [f"{opt}=off" for opt in NIC_OFFLOADS_OFF]
    if accel == "tcg":
        device.append("vectors=0")
    return ["-chardev", f"socket,id=vhost{i},path={sock},{mode}",
            "-netdev", f"vhost-user,id=net{i},chardev=vhost{i},queues=1",
            "-device", ",".join(device)]


def qemu_argv(vm: Vm, *, kernel: Path, initrd: Path, console: Path, vhost_client: bool,
              accel: str) -> list[str]:
    """The QEMU command line of `vm` (guest memory shareable with the vhost-user backend)."""
    nics = [(n.mac, n.ifname, n.ipv4) for n in vm.nics]
    argv = [QEMU, "-name", vm.name, "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-accel", accel, *(["-cpu", "host"] if accel == "kvm" else []),
            "-smp", "1", "-m", str(vm.memory),
            "-object", f"memory-backend-memfd,id=mem,size={vm.memory}M,share=on",
            "-numa", "node,memdev=mem",
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", vmimage.kernel_cmdline(vm.name, nics),
            "-serial", f"file:{console}"]
    for i, nic in enumerate(vm.nics):
        argv += _nic_args(i, nic, vhost_client, accel)
    return argv + list(vm.qemu_args)


# ---- sockets ---------------------------------------------------------------
def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.lstat().st_mode)
    except OSError:
        return False


def clear_stale_socket(path: Path) -> None:
    """Before QEMU listens on `path`: remove a dead socket file; refuse a live or foreign one."""
    if not path.exists() and not path.is_symlink():
        return
    if not _is_socket(path):
        raise VmError(f"{path} exists and is not a socket; remove it first")
    if _listening(path):
        raise VmError(f"{path} is in use by another process (is spp_vf running without "
                      "--vhost-client, or another VM on the same vhost id?)")
    path.unlink(missing_ok=True)


def remove_sockets(paths: list[str]) -> list[str]:
    """Remove the socket files no process listens on any more; returns what was removed."""
    done = []
    for name in paths:
        path = Path(name)
        if _is_socket(path) and not _listening(path):
            path.unlink(missing_ok=True)
            done.append(f"socket {path}")
    return done


# ---- life cycle -------------------------------------------------------------
def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def last_lines(paths: VmPaths, n: int = 4) -> str:
    """The last lines QEMU and the guest console wrote, as one line."""
    lines = [ln for ln in _read(paths.log).strip().splitlines()
             if not ln.startswith(_LOG_HEADER)][-n:]
    lines += _read(paths.console).strip().splitlines()[-n:]
    return " | ".join(line.strip() for line in lines if line.strip()) or "(no output)"


def _image_paths(vm: Vm, topo: Topology) -> tuple[Path, Path]:
    base = Path(topo.source).resolve().parent if topo.source else None
    return _image_files(vm, base)


def check_vms(topo: Topology) -> None:
    """What every VM needs before anything is built: QEMU, the kernel and the initrd."""
    if topo.vms and shutil.which(QEMU) is None:
        raise VmError(f"{QEMU} not found (apt-get install qemu-system-x86; `make setup` does)")
    for vm in topo.vms:
        for what, path in zip(("kernel image", "initrd"), _image_paths(vm, topo), strict=True):
            if not path.is_file():
                hint = " (run `make setup` to build the VM image)" if vm.kernel is None else ""
                raise VmError(f"VM {vm.name}: {what} {path} not found{hint}")


def _spawn(vm: Vm, topo: Topology, accel: str) -> subprocess.Popen[bytes]:
    kernel, initrd = _image_paths(vm, topo)
    paths = vm_paths(vm.name, topo.file_prefix)
    paths.pid.parent.mkdir(parents=True, exist_ok=True)
    paths.console.write_bytes(b"")
    argv = qemu_argv(vm, kernel=kernel, initrd=initrd, console=paths.console,
                     vhost_client=topo.vhost_client, accel=accel)
    with rundir.open_log(paths.log, truncate=True) as log:
        log.write(f"{_LOG_HEADER}{vm.name}: accel {accel}: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError:
            raise VmError(f"VM {vm.name}: {QEMU} not found (apt-get install "
                          "qemu-system-x86; `make setup` does)") from None
    rundir.write_pid(paths.pid, proc.pid)
    return proc


def _started(vm: Vm, topo: Topology, settled: bool) -> bool:
    """QEMU's own sign that it started: as vhost-user server, every socket of the VM
    listens; as client (it connects and retries), it survived CLIENT_SETTLE_S."""
    if not topo.vhost_client:
        return settled
    return all(_listening(vhost_socket(n.vhost)) for n in vm.nics)


def _wait_started(topo: Topology, started: list[tuple[Vm, subprocess.Popen[bytes], str]],
                  timeout: float) -> None:
    """Until every QEMU gave its sign, or VmError naming the first that exited or did
    not give it within `timeout`, with QEMU's and the console's last lines."""
    now = time.monotonic()
    deadline, settle_at = now + timeout, now + CLIENT_SETTLE_S
    pending = [(vm, proc) for vm, proc, _ in started]
    while True:
        for vm, proc in pending:
            if proc.poll() is not None:
                paths = vm_paths(vm.name, topo.file_prefix)
                rundir.remove_pid(paths.pid, proc.pid)
                raise VmError(f"VM {vm.name}: QEMU exited with code {proc.returncode}: "
                              f"{last_lines(paths)} (log {paths.log})")
        settled = time.monotonic() >= settle_at
        pending = [(vm, proc) for vm, proc in pending if not _started(vm, topo, settled)]
        if not pending:
            return
        if time.monotonic() >= deadline:
            vm = pending[0][0]
            socks = [str(vhost_socket(n.vhost)) for n in vm.nics
                     if not _listening(vhost_socket(n.vhost))]
            raise VmError(f"VM {vm.name}: QEMU does not listen on {' '.join(socks)} after "
                          f"{timeout:g} s: {last_lines(vm_paths(vm.name, topo.file_prefix))}")
        time.sleep(0.05)


def nic_records(vm: Vm) -> list[dict[str, Any]]:
    """What the host state and `spp host show` keep of a VM's NICs."""
    return [{"vhost": n.uid, "mac": n.mac, "ipv4": n.ipv4, "ifname": n.ifname,
             "socket": str(vhost_socket(n.vhost))} for n in vm.nics]


def start_vms(topo: Topology, record: Any = None) -> list[str]:
    """Boot every VM of `topo` whose QEMU is not running; returns one note per VM started.

    `record(name, nics)` is called before each QEMU starts (the host state).
    All QEMUs start in parallel; on a failure the ones started here are stopped.
    """
    todo = [vm for vm in topo.vms if vm_pid(vm.name, topo.file_prefix) is None]
    if not todo:
        return []
    check_vms(topo)
    image = vmimage.default_image()
    started: list[tuple[Vm, subprocess.Popen[bytes], str]] = []
    try:
        for vm in todo:
            accel, why = choose_accel(vm.accel, image)
            if record is not None:
                record(vm.name, nic_records(vm))
            if topo.vhost_client:
                for nic in vm.nics:
                    clear_stale_socket(vhost_socket(nic.vhost))
            started.append((vm, _spawn(vm, topo, accel), f"accel {accel}: {why}"))
        _wait_started(topo, started, START_TIMEOUT_S)
    except VmError:
        for vm, _proc, _ in started:
            stop_vm(vm.name, topo.file_prefix)
        raise
    mode = "QEMU listens, spp_vf connects" if topo.vhost_client else \
        "spp_vf listens, QEMU connects"
    return [f"VM {vm.name} started (pid {proc.pid}, {note}; vhost-user: {mode}; "
            f"console {vm_paths(vm.name, topo.file_prefix).console})"
            for vm, proc, note in started]


def stop_vm(vm_name: str, instance: str) -> int | None:
    """Stop a VM's QEMU by its pid file; returns the pid stopped (None: was not running)."""
    return rundir.stop_pidfile(vm_paths(vm_name, instance).pid)


def vm_state(vm_name: str, instance: str) -> str:
    """stopped | waiting (QEMU waits for its vhost-user peer) | booting | ready."""
    if vm_pid(vm_name, instance) is None:
        return "stopped"
    console = _read(vm_paths(vm_name, instance).console)
    if vmimage.READY_MARK in console:
        return "ready"
    return "booting" if console.strip() else "waiting"


def wait_ready(names: list[str], instance: str, timeout: float) -> None:
    """Until every VM's console says READY_MARK; VmError names the first VM that stopped
    or is not ready at the deadline, with its last console lines."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        states = {n: vm_state(n, instance) for n in pending}
        pending = [n for n in pending if states[n] != "ready"]
        dead = [n for n in pending if states[n] == "stopped"]
        if dead:
            raise VmError(f"VM {dead[0]} is not running: "
                          f"{last_lines(vm_paths(dead[0], instance))}")
        if not pending:
            return
        if time.monotonic() >= deadline:
            name = pending[0]
            others = "".join(f", {n} {states[n]}" for n in pending[1:])
            raise VmError(f"VM {name} not ready after {timeout:g} s ({states[name]}{others}): "
                          f"{last_lines(vm_paths(name, instance))}")
        time.sleep(0.2)


def vm_info(name: str, nics: list[dict[str, Any]], instance: str) -> dict[str, Any]:
    """`spp host show --json` entry of one VM (`nics` as `nic_records` makes them)."""
    paths = vm_paths(name, instance)
    return {
        "name": name,
        "state": vm_state(name, instance),
        "pid": vm_pid(name, instance),
        "console_log": str(paths.console),
        "qemu_log": str(paths.log),
        "ssh_key": str(vmimage.default_image().ssh_key),
        "nics": [dict(n) for n in nics],
    }
