"""Pictures of the graph: the Graphviz DOT text of what backward would walk.

Op nodes are boxes named after their Function (with the shape and dtype of what they
produced); leaf tensors that require grad are ellipses; the tensor you asked about is
drawn double. Arrows point the way the forward pass went, from inputs to results.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neograd.autograd.function import Function
from neograd.autograd.tensor import Tensor

__all__ = ["to_dot", "draw"]


def _describe(shape: tuple[int, ...], dtype: Any) -> str:
    return f"{tuple(shape)} {dtype}"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(tensor: Tensor, params: Mapping[str, Tensor] | None = None) -> str:
    """The Graphviz DOT text of the graph that produced ``tensor``.

    Args:
        tensor: the result whose history to draw (e.g. a loss).
        params: optional names for leaf tensors, e.g. ``dict(model.named_parameters())``.

    Returns:
        DOT source: op nodes (Function name, output shape and dtype), leaves (shape,
        dtype, ``requires_grad``), and edges from inputs to the ops that used them.

    Example:
        >>> x = tensor([1.0, 2.0], requires_grad=True)
        >>> print(to_dot((x * x).sum()))      # paste into any Graphviz viewer
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = {id(t): name for name, t in (params or {}).items()}
    ids: dict[int, str] = {}
    lines = [
        "digraph neograd {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10];',
    ]

    def node_id(obj: Any) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    def leaf(t: Tensor, extra: str = "") -> str:
        name = names.get(id(t), "leaf")
        grad = "requires_grad" if t.requires_grad else "no grad"
        label = f"{name}\\n{_describe(t.shape, t.dtype)}\\n{grad}"
        lines.append(f"  {node_id(t)} [shape=ellipse{extra}, label={_quote(label)}];")
        return node_id(t)

    root = tensor._node
    if root is None:  # a leaf (or a tensor outside any graph): one node
        leaf(tensor, ", peripheries=2")
        lines.append("}")
        return "\n".join(lines) + "\n"

    output = node_id(tensor)
    label = f"result\\n{_describe(tensor.shape, tensor.dtype)}"
    style = "shape=ellipse, style=filled, fillcolor=lightgrey, peripheries=2"
    lines.append(f"  {output} [{style}, label={_quote(label)}];")
    lines.append(f"  {node_id(root)} -> {output};")
    seen: set[int] = set()
    stack: list[Function] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        name = type(node).__name__
        if node.edges is None:  # released by an earlier backward
            label = f"{name}\\n(released by backward)"
            lines.append(f"  {node_id(node)} [shape=box, style=dashed, label={_quote(label)}];")
            continue
        label = f"{name}\\n{_describe(node._shape, node._dtype)}"
        style = "shape=box, style=filled, fillcolor=lightblue"
        lines.append(f"  {node_id(node)} [{style}, label={_quote(label)}];")
        for edge in node.edges:
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                source = node_id(edge) if id(edge) in ids else leaf(edge)
            else:
                source = node_id(edge)
                stack.append(edge)
            lines.append(f"  {source} -> {node_id(node)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(tensor: Tensor, path: str | Path, params: Mapping[str, Tensor] | None = None) -> Path:
    """Write a picture of the graph that produced ``tensor`` (SVG, or PNG/PDF by extension).

    Needs the Graphviz ``dot`` program; without it, raises a RuntimeError saying how to
    get it (and :func:`to_dot` still gives the text).

    Args:
        tensor: the result whose history to draw.
        path: the file to write; its extension picks the format (.svg, .png, .pdf).
        params: optional names for leaf tensors, e.g. ``dict(model.named_parameters())``.

    Returns:
        The path written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "svg"
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"draw: unsupported format {fmt!r}; use a .svg, .png or .pdf path")
    text = to_dot(tensor, params)
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "draw: the Graphviz 'dot' program is not installed. Install Graphviz "
            "(apt install graphviz, brew install graphviz, conda install graphviz or "
            "https://graphviz.org/download/), or write neograd.autograd.to_dot(tensor) to a "
            ".dot file and open it in any Graphviz viewer."
        )
    done = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=text, text=True, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"draw: dot failed ({done.returncode}): {done.stderr.strip()}")
    return path
