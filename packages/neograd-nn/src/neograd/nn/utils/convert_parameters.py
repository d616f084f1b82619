"""Flatten parameters into one vector and back (e.g. for second-order methods or evolution strategies)."""

from __future__ import annotations

from collections.abc import Iterable

from neograd.autograd import Tensor, cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor, as torch's (gradients flow back).

    Example:
        >>> parameters_to_vector(Linear(3, 2).parameters()).shape
        (8,)
    """
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: parameter {i} is a {type(p).__name__}, not a Tensor")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Set the parameters' values from consecutive slices of the 1-D tensor ``vec``, as torch's.

    The inverse of :func:`parameters_to_vector`. Each parameter gets a copy of its slice
    in its own dtype (torch makes it a view of ``vec``). Sizes are checked first: on an
    error no parameter has changed.

    Example:
        >>> vec = parameters_to_vector(model.parameters())
        >>> vector_to_parameters(vec * 0.5, model.parameters())
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(
            f"vector_to_parameters: expected a 1-D tensor of {total} elements (the parameters' total), "
            f"got shape {vec.shape}"
        )
    start = 0
    for p in params:
        # NOTE: a new array, as torch's `param.data = ...`: graphs that saved the old values keep them
        p.data = vec.data[start : start + p.numel()].reshape(p.shape).astype(p.dtype)
        start += p.numel()
