"""The installed package stands on its own: no test framework, no private Typer API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('pytest', '_pytest'):
            raise ImportError('the installed package imported ' + name)
sys.meta_path.insert(0, Block())
import spp
failed = []
for mod in pkgutil.walk_packages(spp.__path__, 'spp.'):
    try:
        importlib.import_module(mod.name)
    except ImportError as exc:
        if 'pytest' in str(exc):
            failed.append(f'{mod.name}: {exc}')
print('\\n'.join(failed))
"""


def test_no_module_of_the_package_imports_pytest() -> None:
    res = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_no_module_uses_typers_private_click() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "spp").rglob("*.py")
                 if "typer._click" in p.read_text() or "from typer import _click" in p.read_text()]
    assert offenders == []


def test_every_integer_define_of_the_c_boundary_reaches_python_unchanged() -> None:
    from spp.native import build, limits

    block = build.cdef_block(build.HEADER)
    defines = {line.split()[1]: int(line.split()[2]) for line in block.splitlines()
               if line.startswith("#define SPP_")}
    assert set(build.define_names(block)) == set(defines)
    missing = [name for name in defines if not hasattr(limits, name)]
    assert missing == [], "spp.native.limits does not export " + ", ".join(missing)
    assert {name: getattr(limits, name) for name in defines} == defines


def test_value_rules_take_their_limits_from_the_c_core() -> None:
    from spp import resources as R
    from spp.native import limits
    from spp.proc import vf_model

    assert (R.MAX_PHY, R.MAX_RINGS, R.MAX_VHOST, R.MAX_LCORES, R.MAX_TABLE_ENTRIES) == (
        limits.SPP_MAX_PHY, limits.SPP_MAX_RINGS, limits.SPP_MAX_VHOST, limits.SPP_MAX_LCORES,
        limits.SPP_CLS_MAX_ENTRIES)
    assert R.RES_TYPES == {"phy": limits.SPP_RES_PHY, "ring": limits.SPP_RES_RING,
                           "vhost": limits.SPP_RES_VHOST}
    assert (vf_model.MAX_COMPONENTS, vf_model.MAX_PORTS_PER_DIR,
            vf_model.MAX_COMP_PER_LCORE) == (limits.SPP_MAX_COMPONENTS,
                                             limits.SPP_MAX_COMP_PORTS,
                                             limits.SPP_MAX_COMP_PER_LCORE)


def _imports(path: Path) -> set[str]:
    """Every module a source file imports, at its top or inside a function."""
    import ast

    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def test_no_product_module_imports_the_test_kit() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p)
                                                   if m.startswith("spp.testkit"))
                 for p in (ROOT / "spp").rglob("*.py")
                 if "testkit" not in p.relative_to(ROOT).parts}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_walker_sees_function_level_imports() -> None:
    probe = ROOT / "spp" / "proc" / "agent.py"
    assert "spp.wire" in _imports(probe)
    steering = _imports(ROOT / "spp" / "proc" / "primary_xdp.py")
    assert "spp.xdp.pins" in steering  # imported inside a function


FOUNDATION = {"errors", "defaults", "wire", "safefile", "rundir", "native", "resources",
              "httppolicy", "kinds"}
MAY_IMPORT = {  # docs/architecture.md, "Layers and folders"
    "errors": set(), "defaults": set(), "wire": set(), "httppolicy": set(), "kinds": set(),
    "safefile": {"errors"}, "rundir": {"defaults", "errors", "safefile"}, "native": {"errors"},
    "resources": {"errors", "native", "kinds"},
    "client": {"defaults", "errors", "rundir", "safefile"},
    "xdp": FOUNDATION, "proc": FOUNDATION | {"xdp"}, "ctl": FOUNDATION | {"client", "topo"},
    "topo": FOUNDATION | {"client", "host"},
    "host": FOUNDATION | {"xdp"}, "metrics": FOUNDATION | {"client"},
    "cli": FOUNDATION | {"client", "ctl", "host", "metrics", "xdp", "proc", "topo"},
    "testkit": FOUNDATION | {"client", "host"},
}


def _layer(module: str) -> str | None:
    """The folder (or top module) of spp that `module` belongs to."""
    parts = module.split(".")
    if parts[0] != "spp" or len(parts) < 2 or parts[1] == "__version__":
        return None
    return "native" if parts[1] in ("_native", "_limits") else parts[1]


def test_every_layer_imports_only_what_the_architecture_allows() -> None:
    seen: dict[str, set[str]] = {}
    for path in (ROOT / "spp").rglob("*.py"):
        rel = path.relative_to(ROOT / "spp").with_suffix("").parts
        if rel == ("__init__",):
            continue
        layer = rel[0]
        assert layer in MAY_IMPORT, f"spp/{layer} is not in docs/architecture.md"
        for mod in _imports(path):
            dep = _layer(mod)
            if dep is not None and dep != layer:
                seen.setdefault(layer, set()).add(dep)
    wrong = {layer: sorted(deps - MAY_IMPORT[layer]) for layer, deps in seen.items()
             if deps - MAY_IMPORT[layer]}
    assert wrong == {}


def test_the_allowed_imports_have_no_cycle() -> None:
    import graphlib

    graphlib.TopologicalSorter(MAY_IMPORT).prepare()  # raises CycleError on a cycle


def test_xdp_tx_ports_cover_every_phy_port() -> None:
    """spp_xdp.h (built by clang alone, fed to cffi: its defines are literal numbers)
    sizes spp_tx_ports by phy id, so its SPP_XDP_TX_PORTS is the C core's SPP_MAX_PHY."""
    from spp.native import limits
    from spp.xdp.defs import cdef_block, header_path, parse_defines

    xdp = parse_defines(cdef_block(header_path().read_text()))
    assert xdp["SPP_XDP_TX_PORTS"] == limits.SPP_MAX_PHY
