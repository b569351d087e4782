"""scripts/check_cycles.py: include, call and folder cycles of a C tree."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_cycles", ROOT / "scripts/check_cycles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cc = _load()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_native_tree_has_no_cycle() -> None:
    assert cc.check(cc.DEFAULT_SRC, cc.DEFAULT_INCLUDES) is None


def test_an_include_cycle_is_named_file_by_file(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "a.h": '#include "b.h"\n',
        "b.h": '#include <stdint.h>\n#include "c.h"\n',
        "c.h": '/* #include "x.h" is a comment */\n#include "a.h"\n',
        "main.c": '#include "a.h"\n',
    })
    assert cc.check(src) == "include cycle: a.h -> b.h -> c.h -> a.h"


def test_includes_resolve_next_to_the_file_then_from_the_tree(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "common/util.h": '#include "common/base.h"\n',
        "common/base.h": "",
        "vf/vf.h": '#include "util.h"\n',  # vf/util.h does not exist: not common/util.h
        "vf/vf.c": '#include "vf/vf.h"\n#include "common/util.h"\n',
    })
    graph = cc.include_graph(src, [])
    assert graph["vf/vf.c"] == {"vf/vf.h", "common/util.h"}
    assert graph["vf/vf.h"] == set()
    assert cc.check(src) is None


def test_a_call_cycle_between_two_files_is_found(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "owners.c": "int\nside_claim(int x)\n{\n\treturn plan_publish(x);\n}\n",
        "plan.c": "int\nplan_publish(int x)\n{\n\treturn x ? side_claim(x - 1) : 0;\n}\n",
    })
    assert cc.check(src) == "call cycle: owners.c -> plan.c -> owners.c"


def test_taking_a_functions_address_counts_as_a_call(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "server.c": "int\nserve(void)\n{\n\treturn start();\n}\n",
        "primary.c": ("static const struct ops ops = { .serve = serve };\n"
                      "int\nstart(void)\n{\n\treturn 0;\n}\n"),
    })
    assert cc.check(src) == "call cycle: primary.c -> server.c -> primary.c"


def test_static_functions_and_calls_in_comments_or_strings_make_no_edge(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "a.c": ("static int\nhelper(void)\n{\n\treturn 0;\n}\n"
                "int\nfrom_a(void)\n{\n\treturn helper() + from_b();\n}\n"),
        "b.c": ("static int\nhelper(void)\n{\n\treturn 1;\n}\n"
                "/* from_a() would close a cycle */\n"
                "int\nfrom_b(void)\n{\n\tlog(\"from_a()\");\n\treturn helper();\n}\n"),
    })
    assert cc.call_graph(src) == {"a.c": {"b.c"}, "b.c": set()}
    assert cc.check(src) is None


def test_a_cycle_between_folders_is_found_when_files_have_none(tmp_path: Path) -> None:
    src = write(tmp_path, {
        "common/log.c": "int\nlog_it(void)\n{\n\treturn vf_count();\n}\n",
        "vf/count.c": "int\nvf_count(void)\n{\n\treturn 0;\n}\n",
        "vf/vf.c": '#include "common/log.h"\n',
        "common/log.h": "int log_it(void);\n",
    })
    assert cc.check(src) == "folder cycle: common -> vf -> common"


def test_main_fails_with_one_line_naming_the_cycle(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, {"a.h": '#include "b.h"\n', "b.h": '#include "a.h"\n'})
    assert cc.main([str(src)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.endswith("include cycle: a.h -> b.h -> a.h\n")
    assert cc.main([str(tmp_path / "missing")]) == 2
