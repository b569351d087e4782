"""Fail when the C core has an include cycle or a cross-file call cycle.

Three graphs are read from the sources, without compiling them:
  - includes: file -> the file each `#include "..."` names (looked up next
    to the including file, then under each include directory);
  - calls: .c file -> the .c file that defines a function it calls or
    takes the address of (functions defined without `static`);
  - folders: the call and include edges between files of different
    folders of the source tree (common/ -> primary/ ...).
A cycle in any of them is reported on one line, naming its files, and the
exit status is 1.

Run: python scripts/check_cycles.py [SRC_DIR [INCLUDE_DIR ...]]
(default: native/src and native/include; `make lint` runs it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SRC = ROOT / "native" / "src"
DEFAULT_INCLUDES = (ROOT / "native" / "include",)

_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.MULTILINE)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
_PREPROCESSOR = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.MULTILINE)
_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
# a function definition in kernel style: its name starts a line, its body follows
_DEFINITION = re.compile(r"^([A-Za-z_]\w*)[ \t]*\(([^;{}]*)\)[ \t\n]*\{", re.MULTILINE)
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "do", "else"})

Graph = Mapping[str, Iterable[str]]


def _code(text: str) -> str:
    """The text without comments, string literals and preprocessor lines."""
    text = _COMMENT.sub(" ", text)
    text = _STRING.sub('""', text)
    return _PREPROCESSOR.sub("", text)


def _is_static(code: str, start: int) -> bool:
    """Whether the definition whose name starts at `start` is declared static."""
    before = code[:start].rstrip()
    head = before[max(before.rfind(";"), before.rfind("}")) + 1 :]
    return re.search(r"\bstatic\b", head) is not None


def sources(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*") if p.suffix in (".c", ".h") and p.is_file())


def include_graph(src: Path, include_dirs: Iterable[Path]) -> dict[str, set[str]]:
    dirs = [src, *include_dirs]
    graph: dict[str, set[str]] = {}
    for path in sources(src):
        edges = graph.setdefault(_name(path, src), set())
        for target in _INCLUDE.findall(path.read_text(errors="replace")):
            for base in (path.parent, *dirs):
                found = base / target
                if found.is_file() and found.resolve().is_relative_to(src.resolve()):
                    edges.add(_name(found, src))
                    break
    return graph


def call_graph(src: Path) -> dict[str, set[str]]:
    code = {_name(p, src): _code(p.read_text(errors="replace"))
            for p in sources(src) if p.suffix == ".c"}
    defined: dict[str, str] = {}
    for name, text in code.items():
        for m in _DEFINITION.finditer(text):
            if m.group(1) not in _KEYWORDS and not _is_static(text, m.start()):
                defined.setdefault(m.group(1), name)
    graph: dict[str, set[str]] = {}
    for name, text in code.items():
        graph[name] = {defined[i] for i in set(_IDENT.findall(text))
                       if i in defined and defined[i] != name}
    return graph


def folder_graph(*graphs: Graph) -> dict[str, set[str]]:
    folders: dict[str, set[str]] = {}
    for graph in graphs:
        for node, targets in graph.items():
            edges = folders.setdefault(_folder(node), set())
            edges.update(_folder(t) for t in targets if _folder(t) != _folder(node))
    return folders


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of `graph` as a path whose last node is its first, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check(src: Path, include_dirs: Iterable[Path] = ()) -> str | None:
    """The reason the tree under `src` fails, or None when it has no cycle."""
    includes = include_graph(src, include_dirs)
    calls = call_graph(src)
    for kind, graph in (("include", includes), ("call", calls),
                        ("folder", folder_graph(includes, calls))):
        cycle = find_cycle(graph)
        if cycle:
            return f"{kind} cycle: {' -> '.join(cycle)}"
    return None


def _name(path: Path, src: Path) -> str:
    return path.resolve().relative_to(src.resolve()).as_posix()


def _folder(name: str) -> str:
    return name.rpartition("/")[0] or "."


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else DEFAULT_SRC
    include_dirs = [Path(a) for a in argv[1:]] if len(argv) > 1 else list(DEFAULT_INCLUDES)
    if not src.is_dir():
        print(f"check_cycles: {src} is not a directory", file=sys.stderr)
        return 2
    reason = check(src, include_dirs)
    if reason:
        print(f"check_cycles: {src}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
