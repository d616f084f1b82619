"""Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm1d,
InstanceNorm2d (forward in neograd.nn.functional)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from neograd.autograd import Tensor, no_grad, ones, zeros
from neograd.nn import init
from neograd.nn.functional.normalization import batch_norm, group_norm, instance_norm, layer_norm
from neograd.nn.module import Module, Parameter
from neograd.nn.modules.linear import _check_device

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d"]


def _register_affine(module: Module, n: int, affine: bool, bias: bool, dtype: Any) -> None:
    """A weight of ones and a bias of zeros, each (n,), registered as None where not learned (as torch)."""
    module.register_parameter("weight", Parameter(ones(n, dtype=dtype)) if affine else None)
    module.register_parameter("bias", Parameter(zeros(n, dtype=dtype)) if affine and bias else None)


def _reset_affine(weight: Parameter | None, bias: Parameter | None) -> None:
    if weight is not None:
        init.ones_(weight)
    if bias is not None:
        init.zeros_(bias)


def _init_norm(
    module: Module,
    num_features: int,
    eps: float,
    momentum: float | None,
    affine: bool,
    track_running_stats: bool,
    device: Any,
    dtype: Any,
    bias: bool,
) -> None:
    """Validate and store the arguments batch and instance norm share; register their parameters and buffers.

    As torch, the buffers not kept (track_running_stats=False) are registered as None,
    so they are absent from state_dict.
    """
    name = type(module).__name__
    _check_device(name, device)
    if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
        raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
    if momentum is not None and not 0 <= momentum <= 1:
        raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
    if eps <= 0:
        raise ValueError(f"{name}: eps must be positive, got {eps!r}")
    module.num_features, module.eps, module.momentum = num_features, eps, momentum
    module.affine, module.track_running_stats = affine, track_running_stats
    _register_affine(module, num_features, affine, bias, dtype)
    if track_running_stats:
        module.register_buffer("running_mean", zeros(num_features, dtype=dtype))
        module.register_buffer("running_var", ones(num_features, dtype=dtype))
        module.register_buffer("num_batches_tracked", Tensor._make(np.array(0, np.int64)))
    else:
        module.register_buffer("running_mean", None)
        module.register_buffer("running_var", None)
        module.register_buffer("num_batches_tracked", None)


def _norm_repr(module: Module) -> str:
    return (
        f"{module.num_features}, eps={module.eps}, momentum={module.momentum}, affine={module.affine}, "
        f"bias={module.bias is not None}, track_running_stats={module.track_running_stats}"
    )


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input dims they accept."""

    _input_dims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _init_norm(self, num_features, eps, momentum, affine, track_running_stats, device, dtype, bias)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight to 1 and bias to 0."""
        self.reset_running_stats()
        _reset_affine(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim not in self._input_dims:
            dims = " or ".join(f"{d}D" for d in self._input_dims)
            got = f"{input.ndim}D input" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{type(self).__name__}: expected {dims} input (got {got})")
        # as torch: momentum=None means a cumulative average over all batches seen so far
        factor = 0.0 if self.momentum is None else self.momentum
        count = self.training and self.track_running_stats
        if count and self.momentum is None:
            factor = 1.0 / (float(self.num_batches_tracked.item()) + 1)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        y = batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )
        if count:  # after batch_norm, which changes nothing when it refuses the input
            with no_grad():
                self.num_batches_tracked.add_(1)
        return y

    def extra_repr(self) -> str:
        return _norm_repr(self)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs, as torch.nn.BatchNorm1d.

    y = (x - mean) / sqrt(var + eps) * weight + bias, one mean and variance per channel.
    In training the statistics are the batch's, and running_mean/running_var follow them:
    ``running = (1 - momentum) * running + momentum * batch`` (the unbiased variance; with
    momentum=None a cumulative average). In eval mode the running statistics normalise.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: the weight of each new batch in the running statistics, or None.
        affine: learn a per-channel weight (init 1) and bias (init 0).
        track_running_stats: keep running statistics (else always use the batch's).
        device: only None or "cpu".
        dtype: of the parameters and running statistics.
        bias: with affine, learn the bias too (keyword only).

    Example:
        >>> bn = BatchNorm1d(10)
        >>> y = bn(randn(32, 10))            # training: batch statistics, running stats updated
        >>> y = bn.eval()(randn(4, 10))      # eval: running statistics
    """

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, as torch.nn.BatchNorm2d: statistics per channel.

    The same as :class:`BatchNorm1d` (see it for the formula and arguments), over the batch
    and both spatial dims.

    Example:
        >>> bn = BatchNorm2d(16)
        >>> bn(randn(8, 16, 5, 5)).shape
        (8, 16, 5, 5)
    """

    _input_dims = (4,)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dims, as torch.nn.LayerNorm.

    y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics of each sample's
    last len(normalized_shape) dims; weight and bias are elementwise, of normalized_shape.

    Args:
        normalized_shape: an int or the shape of the trailing dims.
        eps: added to the variance for numerical stability.
        elementwise_affine: learn weight (init 1) and, if ``bias``, bias (init 0).
        bias: learn a bias (with elementwise_affine).
        device: only None or "cpu".
        dtype: of the parameters.

    Example:
        >>> LayerNorm(16)(randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_device("LayerNorm", device)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or not all(isinstance(n, int) and n >= 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(zeros(*shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0."""
        _reset_affine(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Group normalisation, as torch.nn.GroupNorm: statistics per sample and group of channels.

    The channels split into num_groups groups; each group of each sample is normalised
    on its own (independent of the batch size), then every channel is scaled and shifted.

    Args:
        num_groups: the number of groups; must divide num_channels.
        num_channels: C.
        eps: added to the variance for numerical stability.
        affine: learn a per-channel weight (init 1) and bias (init 0).
        device: only None or "cpu".
        dtype: of the parameters.
        bias: with affine, learn the bias too (keyword only).

    Example:
        >>> GroupNorm(4, 16)(randn(2, 16, 8, 8)).shape
        (2, 16, 8, 8)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_device("GroupNorm", device)
        if not isinstance(num_groups, int) or num_groups < 1 or not isinstance(num_channels, int):
            raise ValueError(
                f"GroupNorm: num_groups and num_channels must be positive ints, got "
                f"{num_groups!r} and {num_channels!r}"
            )
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _register_affine(self, num_channels, affine, bias, dtype)

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0."""
        _reset_affine(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        use_bias = self.bias is not None
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={use_bias}"
        )


class _InstanceNorm(Module):
    """What InstanceNorm1d and InstanceNorm2d share; they differ only in the input dims they accept."""

    _spatial_dims = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _init_norm(self, num_features, eps, momentum, affine, track_running_stats, device, dtype, bias)

    reset_running_stats = _BatchNorm.reset_running_stats
    reset_parameters = _BatchNorm.reset_parameters

    def forward(self, input: Tensor) -> Tensor:
        name, unbatched = type(self).__name__, self._spatial_dims + 1
        if not isinstance(input, Tensor) or input.ndim not in (unbatched, unbatched + 1):
            got = (
                f"{input.ndim}D input of shape {input.shape}"
                if isinstance(input, Tensor)
                else type(input).__name__
            )
            raise ValueError(f"{name}: expected {unbatched}D or {unbatched + 1}D input (got {got})")
        channel_dim = input.ndim - unbatched
        if input.shape[channel_dim] != self.num_features:
            message = (
                f"{name}: expected input's size at dim={channel_dim} to match num_features "
                f"({self.num_features}), but got input of shape {input.shape}"
            )
            if self.affine or self.track_running_stats:
                raise ValueError(message)
            # as torch: without per-channel state num_features is unused, so only warn
            warnings.warn(message + "; num_features is unused since affine=False", stacklevel=2)
        x = input.unsqueeze(0) if channel_dim == 0 else input
        # as torch: momentum=None counts as 0 (no cumulative average), and no batch count is kept
        y = instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return y.squeeze(0) if channel_dim == 0 else y

    def extra_repr(self) -> str:
        return _norm_repr(self)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over (N, C, L) or (C, L) inputs, as torch.nn.InstanceNorm1d.

    y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics of each channel of
    each sample over its length (independent of the batch). With track_running_stats,
    training also keeps running averages of the per-instance statistics
    (``running = (1 - momentum) * running + momentum * batch_average``), which normalise
    in eval mode; without, the input's own statistics are used in both modes.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: the weight of each new batch in the running statistics (None counts as 0).
        affine: learn a per-channel weight (init 1) and bias (init 0).
        track_running_stats: keep running statistics for eval mode.
        device: only None or "cpu".
        dtype: of the parameters and running statistics.
        bias: with affine, learn the bias too (keyword only).

    Example:
        >>> InstanceNorm1d(8, affine=True)(randn(4, 8, 32)).shape
        (4, 8, 32)
    """

    _spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over (N, C, H, W) or (C, H, W) inputs, as torch.nn.InstanceNorm2d.

    The same as :class:`InstanceNorm1d` (see it for the formula and arguments), each
    channel of each sample normalised over its H x W positions.

    Example:
        >>> InstanceNorm2d(3)(randn(2, 3, 16, 16)).shape
        (2, 3, 16, 16)
    """

    _spatial_dims = 2
