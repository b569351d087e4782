"""Renderers of a topology graph: graphviz (dot, svg, png, ...), JSON, YAML, terminal."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable

import graphviz
import yaml
from rich.console import Console
from rich.tree import Tree

from spp.topo.model import Edge, Graph, Node, format_rate

# output name -> renderer format
FORMATS = {
    "dot": "dot", "gv": "dot", "svg": "svg", "png": "png", "jpg": "jpg",
    "pdf": "pdf", "json": "json", "js": "json", "yaml": "yaml", "yml": "yaml",
}
GRAPHVIZ_FORMATS = ("dot", "svg", "png", "jpg", "pdf")

NODE_STYLE = {
    "process": {"shape": "plaintext", "style": "", "fontcolor": "#444444"},
    "component": {"shape": "box", "style": "rounded,filled", "fillcolor": "white"},
    "phy": {"fillcolor": "#9fd49f"},
    "ring": {"fillcolor": "#9ccbef", "shape": "cylinder"},
    "vhost": {"fillcolor": "#f4b27a"},
    "netdev": {"fillcolor": "#dddddd", "shape": "component"},
    "vm": {"fillcolor": "#ffe4b5", "shape": "box3d"},
    "capture": {"fillcolor": "gold", "shape": "folder"},
}
GROUP_COLOR = {"primary": "#2b6cb0", "vf": "#2f855a", "nfv": "#b7791f", "mirror": "#805ad5",
               "pcap": "#c05621", "kernel": "#718096", "vm": "#975a16"}
OWNER_COLORS = ("#2b6cb0", "#2f855a", "#c53030", "#805ad5", "#b7791f", "#2c7a7b", "#c05621")


class RenderError(Exception):
    """The graph could not be rendered; the message is one line for the user."""


def node_lines(node: Node) -> list[str]:
    lines = [node.label]
    if node.detail:
        lines.append(node.detail)
    if node.rates:
        lines.append(" ".join(f"{k} {format_rate(v)}" for k, v in sorted(node.rates.items())
                              if k in ("rx", "tx")))
    return [ln for ln in lines if ln]


def edge_text(edge: Edge) -> str:
    parts = [edge.label]
    if edge.rate is not None:
        parts.append(format_rate(edge.rate))
    return " ".join(p for p in parts if p)


def _dot_label(lines: Iterable[str]) -> str:
    return "\\n".join(graphviz.escape(ln) for ln in lines)


def _owner_color(owner: str) -> str:
    if owner == "primary":
        return OWNER_COLORS[0]
    return OWNER_COLORS[1 + sum(map(ord, owner)) % (len(OWNER_COLORS) - 1)]


def to_graphviz(graph: Graph) -> graphviz.Digraph:
    """The graph as a graphviz Digraph: a cluster per process, the kernel and each VM."""
    dot = graphviz.Digraph(
        "spp",
        graph_attr={"rankdir": "LR", "newrank": "true", "fontname": "Helvetica",
                    "fontsize": "11", "nodesep": "0.3"},
        node_attr={"shape": "box", "style": "filled", "fontname": "Helvetica",
                   "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"},
    )

    def add(target: graphviz.Digraph, node: Node) -> None:
        target.node(node.id, _dot_label(node_lines(node)), **NODE_STYLE.get(node.kind, {}))

    for gid, group in graph.groups.items():
        members = [n for n in graph.nodes.values() if n.group == gid]
        if not members:
            continue
        with dot.subgraph(name=f"cluster_{gid}") as sub:
            sub.attr(label=graphviz.escape(group.label), style="rounded",
                     color=GROUP_COLOR.get(group.kind, "black"))
            for node in members:
                add(sub, node)
    for node in graph.nodes.values():
        if node.group is None or node.group not in graph.groups:
            add(dot, node)
    for edge in graph.edges:
        attrs = {"color": _owner_color(edge.owner),
                 "style": "solid" if edge.running else "dashed"}
        text = edge_text(edge)
        if edge.kind == "patch" or text:
            attrs["label"] = graphviz.escape(text)
        if edge.undirected:
            attrs["dir"] = "none"
            attrs["style"] = "dotted"
        dot.edge(edge.src, edge.dst, **attrs)
    return dot


def render_graphviz(graph: Graph, fmt: str) -> bytes:
    """DOT source, or the picture `dot` draws of it (svg, png, ...)."""
    dot = to_graphviz(graph)
    if fmt == "dot":
        source: str = dot.source
        return source.encode()
    try:
        drawn: bytes = dot.pipe(format=fmt, quiet=True)
        return drawn
    except graphviz.ExecutableNotFound:
        raise RenderError("the `dot` program is missing (Debian package graphviz).") from None
    except subprocess.CalledProcessError as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        first = err.strip().splitlines()[0] if err.strip() else f"exit status {exc.returncode}"
        raise RenderError(f"dot failed to draw {fmt}: {first}") from None
    except OSError as exc:
        raise RenderError(f"dot failed to draw {fmt}: {exc.strerror or exc}") from None


def render(graph: Graph, fmt: str) -> bytes:
    """`graph` in format `fmt` (a value of FORMATS)."""
    if fmt == "json":
        return (json.dumps(graph.to_dict(), indent=2) + "\n").encode()
    if fmt == "yaml":
        return yaml.safe_dump(graph.to_dict(), sort_keys=False).encode()
    if fmt in GRAPHVIZ_FORMATS:
        return render_graphviz(graph, fmt)
    raise RenderError(f"unknown format '{fmt}' (one of {', '.join(sorted(set(FORMATS)))}).")


def format_of(path: str, given: str | None = None) -> str:
    """The format named by `given` or by the extension of `path`; RenderError if neither."""
    name = given if given is not None else path.rsplit(".", 1)[-1] if "." in path else ""
    fmt = FORMATS.get(name.lower())
    if fmt is None:
        raise RenderError(f"Invalid file type '{name}' (one of "
                          f"{', '.join(sorted(FORMATS))}).")
    return fmt


def to_tree(graph: Graph, title: str = "spp") -> Tree:
    """The terminal view: per group its nodes, then the links its process moves; a
    kernel netdev or VM NIC shows the port it is joined to (`<->`) in its own group."""
    labels = {nid: n.label for nid, n in graph.nodes.items()}
    tree = Tree(f"[bold]{title}[/]")
    for gid, group in graph.groups.items():
        branch = tree.add(f"[bold]{group.label}[/]")
        for node in graph.nodes.values():
            if node.group == gid and node.kind != "process":
                branch.add(_node_text(node))
            elif node.group == gid and node.detail:
                branch.add(f"[dim]{node.detail}[/]")
        owner = group.kind if group.kind == "primary" else None
        for edge in graph.edges:
            text = edge_text(edge)
            extra = f"  [cyan]{text}[/]" if text else ""
            if edge.undirected:
                ends = (graph.nodes.get(edge.src), graph.nodes.get(edge.dst))
                if any(n is not None and n.group == gid for n in ends):
                    branch.add(f"{labels.get(edge.src, edge.src)} <-> "
                               f"{labels.get(edge.dst, edge.dst)}{extra}")
            elif edge.owner == owner or (owner is None
                                         and gid.replace("_", ":", 1) == edge.owner):
                branch.add(f"{labels.get(edge.src, edge.src)} -> "
                           f"{labels.get(edge.dst, edge.dst)}{extra}")
    loose = [n for n in graph.nodes.values() if n.group is None]
    if loose:
        branch = tree.add("[bold]ports[/]")
        for node in loose:
            branch.add(_node_text(node))
    return tree


def _node_text(node: Node) -> str:
    lines = node_lines(node)
    head = f"[green]{lines[0]}[/]"
    return head + ("  " + "  ".join(lines[1:]) if len(lines) > 1 else "")


def render_term(graph: Graph, console: Console, title: str = "spp") -> None:
    console.print(to_tree(graph, title))
