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


def test_resource_limits_equal_the_c_core() -> None:
    from spp import resources as R

    header = (ROOT / "native/include/spp_native.h").read_text()
    defines = dict(line.split()[1:3] for line in header.splitlines()
                   if line.startswith("#define SPP_MAX"))
    assert int(defines["SPP_MAX_PHY"]) == R.MAX_PHY
    assert int(defines["SPP_MAX_RINGS"]) == R.MAX_RINGS
    assert int(defines["SPP_MAX_VHOST"]) == R.MAX_VHOST
    assert int(defines["SPP_MAX_LCORES"]) == R.MAX_LCORES
