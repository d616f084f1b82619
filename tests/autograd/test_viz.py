"""to_dot: the DOT text names every op, its output shape and dtype, and every leaf; draw needs dot."""

import re

import numpy as np
import pytest

from neograd.autograd import draw, tensor, to_dot, viz


def _nodes(dot: str) -> dict[str, str]:
    """node id -> label."""
    return dict(re.findall(r'^\s+(n\d+) \[.*label="(.*)"\];$', dot, flags=re.M))


def _edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s+(n\d+) -> (n\d+);$", dot, flags=re.M)


def test_dot_of_a_small_graph() -> None:
    w = tensor(np.ones((3, 2), np.float32), requires_grad=True)
    b = tensor(np.zeros(2, np.float32), requires_grad=True)
    x = tensor(np.ones((4, 3), np.float32))
    loss = (x @ w + b).relu().sum()
    dot = to_dot(loss, params={"weight": w, "bias": b})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    labels = _nodes(dot)
    ops = [label.split("\\n")[0] for label in labels.values()]
    assert sorted(op for op in ops if op[0].isupper()) == ["Add", "MatMul", "Relu", "Sum"]
    assert "MatMul\\n(4, 2) float32" in labels.values()
    assert "Sum\\n() float32" in labels.values()
    assert "weight\\n(3, 2) float32\\nrequires_grad" in labels.values()
    assert "bias\\n(2,) float32\\nrequires_grad" in labels.values()
    assert "result\\n() float32" in labels.values()
    # x does not require grad, so it is not part of the graph; every other input is an edge
    by_label = {label.split("\\n")[0]: node for node, label in labels.items()}
    edges = set(_edges(dot))
    assert (by_label["weight"], by_label["MatMul"]) in edges
    assert (by_label["bias"], by_label["Add"]) in edges
    assert (by_label["MatMul"], by_label["Add"]) in edges
    assert (by_label["Add"], by_label["Relu"]) in edges
    assert (by_label["Relu"], by_label["Sum"]) in edges
    assert (by_label["Sum"], by_label["result"]) in edges
    assert len(edges) == 6


def test_a_tensor_used_twice_is_one_node_with_two_edges() -> None:
    x = tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    dot = to_dot((x * x).sum())
    labels = _nodes(dot)
    leaf = next(n for n, label in labels.items() if label.startswith("leaf"))
    mul = next(n for n, label in labels.items() if label.startswith("Mul"))
    assert "(2,) float64" in labels[leaf]
    assert _edges(dot).count((leaf, mul)) == 2


def test_released_nodes_and_leaves() -> None:
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    assert "released by backward" in to_dot(y)
    assert "leaf\\n(2,) float32\\nrequires_grad" in to_dot(x)
    assert "no grad" in to_dot(tensor([1.0]))


def test_draw_says_how_to_get_graphviz(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    y = (tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match=r"Graphviz 'dot' program is not installed.*to_dot"):
        draw(y, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()
    with pytest.raises(ValueError, match="unsupported format"):
        draw(y, tmp_path / "graph.gif")
    with pytest.raises(TypeError, match="to_dot: expected a Tensor"):
        to_dot(np.ones(2))
