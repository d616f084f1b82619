"""Optimizer: the base class of every optimizer (parameter groups, state, zero_grad, step, saving).

An optimizer holds ``param_groups``: a list of dicts, each with its ``"params"`` (the
tensors it updates) and its hyperparameters (``lr``, ``betas``, ...), so that different
tensors can use different options. ``state[p]`` holds what the algorithm remembers about
parameter ``p`` between steps (moving averages, a step count); it is created on the first
step that sees a gradient for ``p``.

``step()`` visits every parameter that has a gradient and calls the subclass's
``_update(param, grad, state, group)``, which changes the arrays ``param`` (``p.data``)
and the state in place with whole-array NumPy operations.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from neograd.autograd import Tensor, backend, enable_grad, inplace

__all__ = ["Optimizer", "ParamsT"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]
"""What optimizers accept as ``params``: tensors, or dicts each holding a group's ``"params"`` and options."""

# Hyperparameters that mean the same thing in every optimizer that has them, so they are
# checked in one place. name -> (is the value allowed?, what is expected)
_RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    name: (lambda v: v >= 0, ">= 0")
    for name in (
        "lr",
        "eps",
        "epsilon",
        "weight_decay",
        "momentum",
        "alpha",
        "lr_decay",
        "initial_accumulator_value",
        "momentum_decay",
    )
}
_RANGES["beta"] = (lambda v: 0 <= v < 1, "in [0, 1)")
_RANGES["rho"] = (lambda v: 0 <= v <= 1, "in [0, 1]")


def _check_number(where: str, name: str, value: Any, ok: Callable[[float], bool], expected: str) -> None:
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    # NOTE: written as "not ok(v)" so that NaN, for which every comparison is False, is refused
    if not ok(value):
        raise ValueError(f"{where}: invalid {name}={value!r}, expected {name} {expected}")


def _as_list(params: Any, where: str) -> list[Any]:
    if isinstance(params, (set, frozenset)):
        raise TypeError(
            f"{where}: parameters must be given in an ordered collection (the order of a set "
            "changes between runs, and state_dict relies on it); use a list"
        )
    try:
        return list(params)
    except TypeError:
        raise TypeError(
            f"{where}: params must be an iterable of Tensors or dicts, got {type(params).__name__}"
        ) from None


def _is_array(value: Any) -> bool:
    """Whether ``value`` is an array of optimizer state (NumPy's, or CuPy's on a GPU)."""
    return isinstance(value, np.ndarray) or backend.is_device_array(value)


class Optimizer:
    """Base class of all optimizers: holds the parameter groups and the per-parameter state.

    Subclasses pass their hyperparameters as ``defaults`` (filled into every group that does
    not set them) and implement ``_init_state`` (a parameter's state before its first step)
    and ``_update`` (one step for one parameter, in place).

    Args:
        params: an iterable of tensors to optimize, or of dicts ``{"params": tensors, **options}``
            defining parameter groups with their own options.
        defaults: the default value of every hyperparameter.

    Attributes:
        param_groups: list of dicts, each with ``"params"`` (a list of tensors) and every hyperparameter.
        state: per-parameter state, ``state[p]`` a dict (created on ``p``'s first step).
        defaults: the hyperparameters given to the constructor.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or dicts, but got a Tensor; "
                "wrap it in a list: [tensor]"
            )
        if isinstance(params, dict):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or dicts; wrap the dict in a list"
            )
        self._check_group(defaults, name)
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = _as_list(params, name)
        if len(groups) == 0:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- what a subclass provides ---------------------------------------------------------
    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter before its first step (arrays shaped like ``param``, counts)."""
        return {}

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """One step for one parameter: change ``param`` and ``state`` in place (never ``grad``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def _check_group(self, group: dict[str, Any], where: str) -> None:
        """Refuse hyperparameters out of range (subclasses add their own rules)."""
        for key, value in group.items():
            if key in _RANGES:
                _check_number(where, key, value, *_RANGES[key])
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
            for i, beta in enumerate(betas):
                _check_number(where, f"betas[{i}]", beta, lambda v: 0 <= v < 1, "in [0, 1)")

    # ---- parameter groups -----------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own options, to ``param_groups``.

        Options the group does not give are taken from ``defaults``. Useful to start training
        layers that were frozen so far.

        Args:
            param_group: ``{"params": tensors, **options}``.
        """
        name = type(self).__name__
        where = f"{name} (param group {len(self.param_groups)})"
        if not isinstance(param_group, dict):
            raise TypeError(f"{where}: param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(
                f"{where}: param_group must have a 'params' entry, got keys {sorted(param_group)}"
            )
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        else:
            params = _as_list(params, where)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{where}: optimizer can only optimize Tensors, but params[{i}] is a {type(p).__name__}"
                )
            if not p.is_leaf and not p.retains_grad:
                raise ValueError(
                    f"{where}: can't optimize a non-leaf Tensor (params[{i}] was computed by "
                    f"{type(p.grad_fn).__name__}); optimize the leaf tensors it was computed from"
                )
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{where}: the parameter group contains the same parameter more than once")
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        if not taken.isdisjoint(ids):
            raise ValueError(f"{where}: some parameters appear in more than one parameter group")
        group = {"params": params}
        group.update((k, v) for k, v in param_group.items() if k != "params")
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_group(group, where)
        self.param_groups.append(group)

    # ---- training ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none: set ``.grad`` to None (default) instead of filling it with zeros. A
                parameter whose grad is None is skipped by ``step``; one with a zero grad is
                still updated (weight decay, momentum).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.requires_grad:  # a grad recorded with create_graph: leave its graph alone
                    p.grad = Tensor._make(np.zeros_like(p.grad.data))
                else:
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, by one step of the algorithm.

        Args:
            closure: a function that clears the gradients, recomputes the loss, calls
                ``backward`` and returns the loss; it runs (with grad mode on) before the update.

        Returns:
            The closure's loss, or None without a closure.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # NOTE: every parameter is checked before any is updated; the checks collect what
        # the update loop needs, so that it reads each attribute once (this runs every step)
        todo = []
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                data = p.data
                if not isinstance(grad, Tensor) or grad.data.shape != data.shape:
                    got = grad.shape if isinstance(grad, Tensor) else type(grad).__name__
                    raise RuntimeError(
                        f"{type(self).__name__}.step: param group {g}, parameter {i} has shape {p.shape} "
                        f"but its grad is {got}"
                    )
                if not data.flags.writeable:
                    raise RuntimeError(
                        f"{type(self).__name__}.step: param group {g}, parameter {i} is a read-only array"
                    )
                todo.append((p, data, grad.data, group))
        state_of = self.state
        changed = []
        try:
            for p, data, grad, group in todo:
                state = state_of[p]
                if not state:
                    state.update(self._init_state(data, group))
                changed.append(data)
                self._update(data, grad, state, group)
        finally:
            # a graph that saved these parameters' old values must refuse to backward now
            inplace.mark_changed(*changed)
        return loss

    # ---- saving and loading ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as a dict of copies: ``{"state": ..., "param_groups": ...}``.

        As in torch, parameters are replaced by their index (counting through the groups in
        order): ``state`` maps index -> that parameter's state, and each group's ``"params"``
        is a list of indices. Arrays are copied, so training on does not change a saved dict.
        """
        params = [p for group in self.param_groups for p in group["params"]]
        groups, start = [], 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        state = {i: copy.deepcopy(self.state[p]) for i, p in enumerate(params) if self.state.get(p)}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict`` (of an optimizer of this class over tensors
        of the same shapes), so that training continues exactly as if it had never stopped.

        Everything is checked before anything changes: on error the optimizer is left as it
        was. The given dict is copied, never modified.

        Args:
            state_dict: a dict returned by ``state_dict()``.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(
                f"{name}: expected a dict with 'state' and 'param_groups', as state_dict() returns"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: loaded state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        index: dict[Any, tuple[Tensor, dict[str, Any]]] = {}  # saved index -> (parameter, saved group)
        new_groups = []
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            where = f"{name} (param group {g})"
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"{where}: each saved group must be a dict with 'params'")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{where}: loaded state dict contains a parameter group of {len(saved['params'])} "
                    f"parameters, the optimizer's group has {len(group['params'])}"
                )
            missing = sorted(k for k in self.defaults if k not in saved)
            if missing:
                raise ValueError(
                    f"{where}: the saved group lacks {type(self).__name__}'s hyperparameters {missing}; "
                    "was it saved from a different optimizer?"
                )
            self._check_group(saved, where)
            new_group = {"params": group["params"]}
            new_group.update((k, copy.deepcopy(v)) for k, v in saved.items() if k != "params")
            new_groups.append(new_group)
            for i, p in zip(saved["params"], group["params"]):
                if i in index:
                    raise ValueError(f"{where}: parameter index {i!r} appears twice in the saved groups")
                index[i] = (p, new_group)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for i, saved_state in state_dict["state"].items():
            if i not in index:
                raise ValueError(f"{name}: the state of parameter {i!r} belongs to no saved parameter group")
            p, group = index[i]
            new_state[p] = self._restore_state(p, saved_state, group, f"{name} (state of parameter {i})")
        self.param_groups = new_groups
        self.state = new_state

    def _restore_state(self, p: Tensor, saved: Any, group: dict[str, Any], where: str) -> dict[str, Any]:
        """A copy of one parameter's saved state, checked against the state this optimizer keeps."""
        expected = self._init_state(p.data, group)
        if not isinstance(saved, dict) or saved.keys() != expected.keys():
            got = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise ValueError(
                f"{where}: has entries {got}, {type(self).__name__} keeps {sorted(expected)}; "
                "was it saved from a different optimizer or with other options?"
            )
        restored: dict[str, Any] = {}
        for key, init in expected.items():
            value = saved[key]
            if _is_array(init) or (init is None and value is not None):
                if not _is_array(value) or value.shape != p.shape:
                    got = value.shape if _is_array(value) else type(value).__name__
                    raise ValueError(f"{where}: {key!r} should be an array of shape {p.shape}, got {got}")
                # a copy, in the parameter's dtype, on the parameter's device
                restored[key] = backend.to_device(value, p.device).astype(p.dtype, copy=True)
            elif init is None:
                restored[key] = None
            else:
                if not isinstance(value, numbers.Real) or not math.isfinite(value):
                    raise ValueError(f"{where}: {key!r} should be a finite number, got {value!r}")
                restored[key] = type(init)(value)
        return restored

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"
