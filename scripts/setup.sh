#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for spp-xdp (run as root; `make setup` calls it).
# Idempotent and quiet on success: packages only when missing, the venv only when
# absent or stale, hugepages never lowered, mounts only when not mounted.
#
# Environment: SPP_VENV (default <repo>/.venv), SPP_HUGEPAGES (default 1024 x 2 MiB),
# SPP_VM_DIR (default <repo>/build/vm: the test VM image).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPP_VENV:-$REPO/.venv}"
HUGEPAGES="${SPP_HUGEPAGES:-1024}"
BASE_PYTHON=/usr/bin/python3
LOG="$(mktemp /tmp/spp-setup.XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT
trap 'echo "setup.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

PACKAGES=(
    dpdk dpdk-dev libdpdk-dev libxdp-dev libbpf-dev clang llvm bpftool
    python3-bpfcc python3-venv python3-dev iproute2 iputils-ping tcpdump ethtool
    pkg-config gcc make libelf-dev zlib1g-dev libpcap-dev gcc-multilib
    prometheus tmux graphviz
    qemu-system-x86 openssh-client iperf3
    liblz4-dev lz4 tshark
    chromium
)
OPTIONAL_PACKAGES=(xdp-tools)

die() {
    echo "setup.sh: $*" >&2
    exit 1
}

# run CMD... quietly; on failure show its output and die with a one-line reason
quiet() {
    local what="$1"
    shift
    if ! "$@" >"$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        die "$what failed: $*"
    fi
}

installed() {
    dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'
}

available() {
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

setup_packages() {
    local missing=() optional=() pkg
    for pkg in "${PACKAGES[@]}"; do
        installed "$pkg" || missing+=("$pkg")
    done
    for pkg in "${OPTIONAL_PACKAGES[@]}"; do
        installed "$pkg" || optional+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        # only optional ones left: install those the current package lists know about
        local known=()
        for pkg in "${optional[@]}"; do
            available "$pkg" && known+=("$pkg")
        done
        ((${#known[@]} == 0)) && return 0
        missing=("${known[@]}")
        optional=()
    else
        export DEBIAN_FRONTEND=noninteractive
        quiet "apt-get update" apt-get update -q
        for pkg in "${optional[@]}"; do
            available "$pkg" && missing+=("$pkg")
        done
    fi
    export DEBIAN_FRONTEND=noninteractive
    quiet "apt-get install" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

venv_ok() {
    [[ -x "$VENV/bin/python" && -f "$VENV/pyvenv.cfg" ]] || return 1
    grep -Eq '^home = /usr/bin$' "$VENV/pyvenv.cfg" || return 1
    grep -Eq '^include-system-site-packages = true$' "$VENV/pyvenv.cfg" || return 1
}

setup_venv() {
    [[ -x "$BASE_PYTHON" ]] || die "$BASE_PYTHON not found (install python3)"
    if ! venv_ok; then
        [[ -e "$VENV" ]] && rm -rf "$VENV"
        quiet "creating $VENV" "$BASE_PYTHON" -m venv --system-site-packages "$VENV"
    fi
    local py="$VENV/bin/python"
    if ! "$py" -c 'import setuptools, cffi' >/dev/null 2>&1; then
        quiet "pip install setuptools cffi" "$py" -m pip install -q setuptools cffi
    fi
    # reinstall only when the packaging inputs changed since the last good install
    local stamp="$VENV/.spp-install-stamp" sum f inputs=()
    for f in pyproject.toml setup.py setup.cfg; do
        [[ -f "$REPO/$f" ]] && inputs+=("$REPO/$f")
    done
    sum="$(cat "${inputs[@]}" | sha256sum)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]] && "$py" -c 'import spp' 2>/dev/null; then
        return 0
    fi
    (cd "$REPO" && quiet "pip install -e .[test]" \
        "$py" -m pip install -q -e '.[test]' --no-build-isolation)
    echo "$sum" >"$stamp"
}

setup_hugepages() {
    local nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages current
    [[ -w "$nr" ]] || die "no 2 MiB hugepage support ($nr)"
    current="$(cat "$nr")"
    if ((current < HUGEPAGES)); then
        echo "$HUGEPAGES" >"$nr" 2>/dev/null || die "cannot reserve $HUGEPAGES hugepages"
        current="$(cat "$nr")"
        ((current > 0)) || die "kernel granted no 2 MiB hugepages (asked $HUGEPAGES)"
    fi
    if ! grep -qE '^\S+ /dev/hugepages hugetlbfs ' /proc/mounts; then
        mkdir -p /dev/hugepages
        quiet "mounting hugetlbfs" mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
    fi
}

setup_bpffs() {
    if ! grep -qE '^\S+ /sys/fs/bpf bpf ' /proc/mounts; then
        mkdir -p /sys/fs/bpf
        quiet "mounting bpffs" mount -t bpf -o mode=0700 bpf /sys/fs/bpf
    fi
}

# the test VMs' kernel and initramfs from Debian packages (spp/host/vmimage.py; a stamp
# makes this a no-op when up to date)
setup_vm_image() {
    quiet "building the VM image" "$VENV/bin/python" -m spp.host.vmimage build
}

# Debian's prometheus package enables and starts its own server (0.0.0.0:9090, scraping
# itself); the tests start theirs on a free port with their own storage. Keep the packaged
# one off so it neither holds a port nor takes CPU from the data plane.
quiet_packaged_prometheus() {
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
        if systemctl is-enabled --quiet prometheus 2>/dev/null ||
            systemctl is-active --quiet prometheus 2>/dev/null; then
            systemctl disable --now prometheus >/dev/null 2>&1 || true
        fi
    elif [[ -x /etc/init.d/prometheus ]] && /etc/init.d/prometheus status >/dev/null 2>&1; then
        /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    fi
}

main() {
    ((EUID == 0)) || die "must run as root"
    [[ -r /etc/debian_version ]] || die "expects Debian 12 (no /etc/debian_version)"
    command -v apt-get >/dev/null || die "apt-get not found"
    setup_packages
    quiet_packaged_prometheus
    setup_venv
    setup_hugepages
    setup_bpffs
    setup_vm_image
}

main "$@"
