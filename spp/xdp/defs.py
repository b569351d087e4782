"""Struct layouts and constants read from the ONE shared header bpf/spp_xdp.h.

The block between ``SPP_XDP_CDEF_BEGIN`` and ``SPP_XDP_CDEF_END`` of the header
goes to cffi's ``FFI.cdef`` (ABI mode, nothing is compiled), so C and Python
share one definition of every map key and value.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from cffi import FFI

from spp.xdp.errors import XdpError

HEADER_ENV = "SPP_XDP_HEADER"
_BEGIN = "/* SPP_XDP_CDEF_BEGIN */"
_END = "/* SPP_XDP_CDEF_END */"
_TYPEDEFS = """
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
"""

# Declarations of the libbpf.so.1 (ABI 1.x) functions used by spp.xdp.
# Structs with a leading ``sz`` are truncated to the fields we set: libbpf
# accepts a smaller ``sz`` and uses defaults for the rest.
LIBBPF_CDEF = """
int bpf_obj_get(const char *pathname);
int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags);
int bpf_map_update_batch(int fd, const void *keys, const void *values, uint32_t *count,
                         const void *opts);
int bpf_map_lookup_elem(int fd, const void *key, void *value);
int bpf_map_delete_elem(int fd, const void *key);
int bpf_map_get_next_key(int fd, const void *key, void *next_key);
int bpf_obj_get_info_by_fd(int bpf_fd, void *info, uint32_t *info_len);
int bpf_obj_pin(int fd, const char *pathname);
int bpf_xdp_query_id(int ifindex, int flags, uint32_t *prog_id);
int bpf_prog_get_fd_by_id(uint32_t id);
int bpf_map_get_fd_by_id(uint32_t id);
int libbpf_num_possible_cpus(void);

struct bpf_object;
struct bpf_program;
struct bpf_map;
struct bpf_object_open_opts {
    size_t sz;
    const char *object_name;
    bool relaxed_maps;
    const char *pin_root_path;
};
struct bpf_object *bpf_object__open_file(const char *path,
                                         const struct bpf_object_open_opts *opts);
int bpf_object__load(struct bpf_object *obj);
void bpf_object__close(struct bpf_object *obj);
struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
                                             struct bpf_program *prog);
const char *bpf_program__name(const struct bpf_program *prog);
int bpf_program__fd(const struct bpf_program *prog);
struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name);
int bpf_map__fd(const struct bpf_map *map);
long libbpf_get_error(const void *ptr);

struct bpf_test_run_opts {
    size_t sz;
    const void *data_in;
    void *data_out;
    uint32_t data_size_in;
    uint32_t data_size_out;
    const void *ctx_in;
    void *ctx_out;
    uint32_t ctx_size_in;
    uint32_t ctx_size_out;
    uint32_t retval;
    int repeat;
    uint32_t duration;
    uint32_t flags;
    uint32_t cpu;
    uint32_t batch_size;
};
int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts);

/* uapi struct xdp_md: the context of BPF_PROG_TEST_RUN for XDP. */
struct xdp_md {
    uint32_t data;
    uint32_t data_end;
    uint32_t data_meta;
    uint32_t ingress_ifindex;
    uint32_t rx_queue_index;
    uint32_t egress_ifindex;
};

/* Leading part of uapi struct bpf_prog_info (the kernel fills what fits). */
struct spp_bpf_prog_info_head {
    uint32_t type;
    uint32_t id;
    uint8_t tag[8];
    uint32_t jited_prog_len;
    uint32_t xlated_prog_len;
    uint64_t jited_prog_insns;
    uint64_t xlated_prog_insns;
    uint64_t load_time;
    uint32_t created_by_uid;
    uint32_t nr_map_ids;
    uint64_t map_ids;
    char name[16];
};

/* Leading part of uapi struct bpf_map_info (the kernel fills what fits). */
struct spp_bpf_map_info_head {
    uint32_t type;
    uint32_t id;
    uint32_t key_size;
    uint32_t value_size;
    uint32_t max_entries;
    uint32_t map_flags;
    char name[16];
};
"""


def header_candidates() -> list[Path]:
    """Where spp_xdp.h is looked for, in order."""
    out: list[Path] = []
    env = os.environ.get(HEADER_ENV)
    if env:
        out.append(Path(env))
    out.append(Path(__file__).resolve().parents[2] / "bpf" / "spp_xdp.h")
    out.append(Path("/usr/share/spp/bpf/spp_xdp.h"))
    return out


def header_path() -> Path:
    for cand in header_candidates():
        if cand.is_file():
            return cand
    tried = ", ".join(str(c) for c in header_candidates())
    raise XdpError(f"shared header spp_xdp.h not found (tried {tried}; set ${HEADER_ENV})")


def cdef_block(text: str) -> str:
    """The cffi-safe block of the header text (between the markers)."""
    try:
        start = text.index(_BEGIN) + len(_BEGIN)
        end = text.index(_END, start)
    except ValueError:
        raise XdpError(f"spp_xdp.h lacks the {_BEGIN} ... {_END} block") from None
    return text[start:end]


def parse_defines(block: str) -> dict[str, int]:
    """``#define NAME <int>`` lines of the block, as a dict."""
    pat = re.compile(r"^\s*#define\s+([A-Z_][A-Z0-9_]*)\s+(0[xX][0-9a-fA-F]+|\d+)\b", re.M)
    return {m.group(1): int(m.group(2), 0) for m in pat.finditer(block)}


class Defs:
    """One FFI holding the header's structs and the libbpf declarations."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or header_path()
        block = cdef_block(self.path.read_text())
        self.constants = parse_defines(block)
        self.ffi = FFI()
        self.ffi.cdef(_TYPEDEFS + block + LIBBPF_CDEF)

    def const(self, name: str) -> int:
        return self.constants[name]


@cache
def defs() -> Defs:
    """The process-wide Defs (header parsed once)."""
    return Defs()
