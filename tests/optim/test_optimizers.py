"""Optimizers without torch: convergence, exact save/resume, the original names' update rules,
and the Optimizer machinery (zero_grad, closures, parameter groups, in-place updates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
import neograd.optim as optim

# id -> (factory(params), steps, tolerance on the distance to the optimum)
CASES: dict[str, tuple[Callable[[Any], optim.Optimizer], int, float]] = {
    "SGD": (lambda p: optim.SGD(p, lr=0.05), 1000, 1e-8),
    "SGD-nesterov-wd": (
        lambda p: optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-6),
        1000,
        1e-3,
    ),
    "SGD-dampening": (lambda p: optim.SGD(p, lr=0.02, momentum=0.5, dampening=0.5), 1000, 1e-8),
    "Adam": (lambda p: optim.Adam(p, lr=0.05), 1000, 1e-8),
    "Adam-amsgrad": (lambda p: optim.Adam(p, lr=0.05, amsgrad=True), 1000, 1e-8),
    "AdamW": (lambda p: optim.AdamW(p, lr=0.05, weight_decay=1e-4), 1000, 1e-3),
    "RMSprop": (lambda p: optim.RMSprop(p, lr=0.005), 1500, 1e-2),
    "RMSprop-centered-momentum": (
        lambda p: optim.RMSprop(p, lr=0.003, momentum=0.5, centered=True),
        1000,
        1e-3,
    ),
    "Adagrad": (lambda p: optim.Adagrad(p, lr=0.5), 1000, 1e-8),
    "Adadelta": (lambda p: optim.Adadelta(p, lr=1.0), 2000, 0.1),
    "NAdam": (lambda p: optim.NAdam(p, lr=0.02), 1000, 1e-6),
    "RAdam": (lambda p: optim.RAdam(p, lr=0.05), 1000, 1e-8),
    "GD": (lambda p: optim.GD(p, 0.05), 1000, 1e-8),
    "Momentum": (lambda p: optim.Momentum(p, 0.05), 1000, 1e-8),
    "RMSProp": (lambda p: optim.RMSProp(p, 0.005), 1500, 1e-2),
}


def quadratic() -> tuple[np.ndarray, np.ndarray]:
    """A convex quadratic 0.5 (x - c)^T A (x - c): A symmetric positive definite, condition ~20."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 4))
    return m @ m.T + np.eye(4), rng.standard_normal(4)


def regression() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Data for y = X w + b + noise, and the least-squares (w, b)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.01 * rng.standard_normal(64)
    solution = np.linalg.lstsq(np.c_[x, np.ones(64)], y, rcond=None)[0]
    return x, y, solution


def regression_loss(w: ng.Tensor, b: ng.Tensor, x: np.ndarray, y: np.ndarray) -> ng.Tensor:
    return ((ng.tensor(x) @ w + b - ng.tensor(y)) ** 2).mean()


def train_regression(opt: optim.Optimizer, w: ng.Tensor, b: ng.Tensor, steps: int) -> None:
    x, y, _ = regression()
    for _ in range(steps):
        opt.zero_grad()
        regression_loss(w, b, x, y).backward()
        opt.step()


@pytest.mark.parametrize("name", list(CASES))
def test_converges_on_a_convex_quadratic(name):
    factory, steps, tol = CASES[name]
    a, c = quadratic()
    x = ng.tensor(np.zeros(4), requires_grad=True)
    opt = factory([x])
    for _ in range(steps):
        opt.zero_grad()
        d = x - ng.tensor(c)
        (0.5 * (d @ (ng.tensor(a) @ d))).backward()
        opt.step()
    assert np.abs(x.data - c).max() < tol


@pytest.mark.parametrize("name", list(CASES))
def test_converges_on_a_linear_regression(name):
    factory, steps, tol = CASES[name]
    w = ng.tensor(np.zeros(3), requires_grad=True)
    b = ng.tensor(np.zeros(()), requires_grad=True)
    train_regression(factory([w, b]), w, b, steps)
    assert np.abs(np.r_[w.data, b.data] - regression()[2]).max() < tol


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_round_trip_continues_bit_identically(name):
    factory = CASES[name][0]

    def fresh(w0: np.ndarray, b0: np.ndarray) -> tuple[ng.Tensor, ng.Tensor, optim.Optimizer]:
        w, b = ng.tensor(w0.copy(), requires_grad=True), ng.tensor(b0.copy(), requires_grad=True)
        return w, b, factory([{"params": [w]}, {"params": [b], "lr": 0.01}])

    w, b, opt = fresh(np.zeros(3), np.zeros(()))
    train_regression(opt, w, b, 10)
    saved, w_saved, b_saved = opt.state_dict(), w.data.copy(), b.data.copy()
    snapshot = opt.state_dict()
    train_regression(opt, w, b, 10)  # the original run goes on

    w2, b2, opt2 = fresh(w_saved, b_saved)  # a new process, resuming
    opt2.param_groups[1]["lr"] = 123.0  # overwritten by the load
    opt2.load_state_dict(saved)
    train_regression(opt2, w2, b2, 10)
    assert np.array_equal(w2.data, w.data) and np.array_equal(b2.data, b.data)
    assert opt2.param_groups[1]["lr"] == 0.01
    # state_dict() copied the arrays: training on changed neither the saved dict nor the loaded one
    for i, state in snapshot["state"].items():
        for key, value in state.items():
            assert np.array_equal(saved["state"][i][key], value), key
    assert all(
        saved["state"][i][k] is not opt2.state[p][k]
        for i, p in enumerate([w2, b2])
        for k in saved["state"].get(i, {})
        if isinstance(saved["state"][i][k], np.ndarray)
    )


def test_state_dict_layout_is_torchs():
    w, b = ng.tensor(np.ones(2), requires_grad=True), ng.tensor(np.ones(()), requires_grad=True)
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    w.grad = ng.tensor(np.array([1.0, -1.0]))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert list(sd["state"]) == [0]  # b never had a gradient: no state
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    assert sd["state"][0]["step"] == 1
    np.testing.assert_allclose(sd["state"][0]["exp_avg"], [0.1, -0.1])


# ---- the original neograd's optimizers, against its formulas written out in NumPy ----------


def gradient_sequence(steps: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(2)
    return [rng.standard_normal((2, 3)) for _ in range(steps)]


def run_with_gradients(opt_factory: Callable[[Any], optim.Optimizer], p0: np.ndarray) -> np.ndarray:
    p = ng.tensor(p0.copy(), requires_grad=True)
    opt = opt_factory([p])
    for g in gradient_sequence():
        p.grad = ng.tensor(g)
        opt.step()
    return p.data


P0 = np.random.default_rng(3).standard_normal((2, 3))


def test_gd_is_plain_gradient_descent():
    expected = P0.copy()
    for g in gradient_sequence():
        expected = expected - 0.15 * g
    np.testing.assert_allclose(run_with_gradients(lambda p: optim.GD(p, 0.15), P0), expected, rtol=1e-14)


def test_momentum_is_a_moving_average_of_gradients():
    expected, v = P0.copy(), 0
    for g in gradient_sequence():
        v = 0.8 * v + (1 - 0.8) * g
        expected = expected - 0.1 * v
    got = run_with_gradients(lambda p: optim.Momentum(p, 0.1, beta=0.8), P0)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    default = run_with_gradients(lambda p: optim.Momentum(p, 0.1), P0)  # beta=0.9
    assert not np.allclose(default, got)


def test_original_rmsprop_formula():
    expected, s = P0.copy(), 0
    for g in gradient_sequence():
        s = 0.7 * s + (1 - 0.7) * np.square(g)
        expected = expected - 0.01 * (g / (np.sqrt(s) + 1e-3))
    got = run_with_gradients(lambda p: optim.RMSProp(p, 0.01, beta=0.7, epsilon=1e-3), P0)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_adam_accepts_the_original_keywords_with_the_original_formula():
    expected, m, v = P0.copy(), 0, 0
    for t, g in enumerate(gradient_sequence(), start=1):
        m = 0.8 * m + (1 - 0.8) * g
        v = 0.99 * v + (1 - 0.99) * np.square(g)
        m_hat, v_hat = m / (1 - 0.8**t), v / (1 - 0.99**t)
        expected = expected - 0.01 * (m_hat / (np.sqrt(v_hat) + 1e-3))
    got = run_with_gradients(lambda p: optim.Adam(p, 0.01, beta1=0.8, beta2=0.99, epsilon=1e-3), P0)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    torch_names = run_with_gradients(lambda p: optim.Adam(p, 0.01, betas=(0.8, 0.99), eps=1e-3), P0)
    assert np.array_equal(got, torch_names)


# ---- the Optimizer machinery --------------------------------------------------------------


def test_step_updates_in_place_and_skips_parameters_without_grad():
    w, frozen = ng.tensor(np.ones(3), requires_grad=True), ng.tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([w, frozen], lr=0.1)
    array = w.data
    w.grad = ng.tensor(np.array([1.0, -2.0, 0.0]))
    opt.step()
    assert w.data is array  # the same array, changed in place: no new tensor or array
    np.testing.assert_allclose(w.data, [0.9, 1.1, 1.0])
    assert np.array_equal(frozen.data, np.ones(2))
    assert frozen not in opt.state


def test_a_graph_that_saved_the_old_parameter_refuses_to_backward():
    w = ng.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = ng.tensor(np.array([3.0, 4.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * x).sum()  # saves w's values for x's gradient
    w.grad = ng.tensor(np.ones(2))
    opt.step()
    with pytest.raises(RuntimeError, match=r"in place|in-place|modified"):
        y.backward()


def test_float32_parameters_stay_float32():
    w = ng.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    for opt in [optim.Adam([w]), optim.NAdam([w]), optim.RMSprop([w], momentum=0.9, centered=True)]:
        w.grad = ng.tensor(np.full(4, 0.5, dtype=np.float32))
        opt.step()
        assert w.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[w].values() if isinstance(v, np.ndarray))


def test_zero_grad_sets_to_none_by_default():
    w = ng.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, weight_decay=0.5)
    (w * 3).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: skipped, even the weight decay
    assert np.array_equal(w.data, np.ones(2))


def test_zero_grad_without_set_to_none_zeroes_in_place():
    w = ng.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, weight_decay=0.5)
    (w * 3).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and np.array_equal(grad.data, np.zeros(2))
    opt.step()  # a zero gradient is still a gradient: the weight decay applies
    np.testing.assert_allclose(w.data, [0.95, 0.95])


def test_zero_grad_of_a_grad_recorded_with_create_graph():
    w = ng.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w**3).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    optim.SGD([w]).zero_grad(set_to_none=False)
    assert not w.grad.requires_grad and np.array_equal(w.grad.data, np.zeros(2))


def test_step_with_closure_recomputes_under_grad_mode_and_returns_the_loss():
    w = ng.tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(float(loss))
        return loss

    with ng.no_grad():  # step still records the closure's graph
        loss = opt.step(closure)
    assert calls == [2.0] and float(loss) == 2.0
    np.testing.assert_allclose(w.data, [0.5, -0.5])  # w - 0.25 * 2w
    assert opt.step() is None


def test_per_group_options_and_defaults():
    a, b = ng.tensor(np.ones(2), requires_grad=True), ng.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    for _ in range(2):
        a.grad = ng.tensor(np.ones(2))
        b.grad = ng.tensor(np.ones(2))
        opt.step()
    np.testing.assert_allclose(a.data, [0.8, 0.8])  # 1 - 0.1 - 0.1
    np.testing.assert_allclose(b.data, [1 - 0.5 - 0.5 * 1.9] * 2)  # buffer 1, then 0.9 + 1


def test_add_param_group_fills_defaults_and_steps_the_new_group():
    a, b = ng.tensor(np.ones(2), requires_grad=True), ng.tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.8, 0.9))
    opt.add_param_group({"params": [b], "lr": 0.2})
    group = opt.param_groups[1]
    assert group["lr"] == 0.2 and group["betas"] == (0.8, 0.9) and group["params"] == [b]
    b.grad = ng.tensor(np.ones(3))
    opt.step()
    np.testing.assert_allclose(b.data, np.full(3, 0.8))  # Adam's first step: lr times the sign
    assert np.array_equal(a.data, np.ones(2))


def test_params_may_be_a_generator_and_may_include_tensors_without_grad():
    a, frozen = ng.tensor(np.ones(2), requires_grad=True), ng.tensor(np.ones(2))  # as torch: allowed
    opt = optim.GD((p for p in [a, frozen]), 0.1)
    assert opt.param_groups[0]["params"] == [a, frozen]
    a.grad = ng.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, [0.9, 0.9])


def test_repr_lists_each_group_options():
    a = ng.tensor(np.ones(2), requires_grad=True)
    text = repr(optim.SGD([a], lr=0.1, momentum=0.9))
    assert (
        text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text and "momentum: 0.9" in text
    )


def test_public_names():
    expected = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam", "GD", "Momentum"}
    assert expected | {"RMSProp", "Optimizer", "lr_scheduler"} <= set(optim.__all__)
    for name in expected:
        assert issubclass(getattr(optim, name), optim.Optimizer)


def test_the_package_readme_example_runs():
    import re
    from pathlib import Path

    readme = Path(__file__).parents[2] / "packages" / "neograd-optim" / "README.md"
    example = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)[0]
    namespace: dict[str, Any] = {"print": lambda *args: None}
    exec(example, namespace)
    np.testing.assert_allclose(namespace["w"].data, [2.0, -1.0, 0.5], atol=1e-3)
    np.testing.assert_allclose(namespace["b"].data, [0.3], atol=1e-3)


def test_optim_imports_only_neograd_autograd():
    """neograd.optim depends on neograd.autograd alone (read from the sources: in this workspace
    ``import neograd.optim`` runs the meta-package, which imports everything)."""
    import ast
    from pathlib import Path

    package = Path(optim.__file__).parent
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module)
    ours = {m for m in imported if m == "neograd" or m.startswith("neograd.")}
    assert ours and all(m.startswith(("neograd.autograd", "neograd.optim")) for m in ours), ours
