"""Pooling layers: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d (forward: nn.functional.pooling)."""

from __future__ import annotations

from typing import Any

from neograd.autograd import Tensor
from neograd.nn.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from neograd.nn.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d"]


class _MaxPoolNd(Module):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) inputs, as torch.nn.MaxPool1d (see functional.max_pool1d).

    Args:
        kernel_size: the window length.
        stride: the step between windows (default: kernel_size).
        padding: implicit -inf padding on both sides (at most kernel_size // 2).
        dilation: the step between elements of a window.
        return_indices: also return the position of each maximum.
        ceil_mode: round the output length up instead of down.
    """

    def forward(self, input: Tensor) -> Any:
        return max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over (N, C, H, W) inputs, as torch.nn.MaxPool2d (see functional.max_pool2d).

    Windows may overlap (stride < kernel_size): an element that is the maximum of several
    windows receives the sum of their gradients.

    Args:
        kernel_size: the window size, an int or a pair.
        stride: the step between windows (default: kernel_size).
        padding: implicit -inf padding on each side (at most half the kernel size).
        dilation: the step between elements of a window.
        return_indices: also return the flat index (i * W + j) of each maximum.
        ceil_mode: round the output size up instead of down.

    Shape:
        (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H + 2 * padH - dH * (kH - 1) - 1) / sH) + 1.

    Example:
        >>> MaxPool2d(2)(randn(8, 16, 28, 28)).shape
        (8, 16, 14, 14)
    """

    def forward(self, input: Tensor) -> Any:
        return max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )


class _AvgPoolNd(Module):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over (N, C, L) inputs, as torch.nn.AvgPool1d (see functional.avg_pool1d)."""

    def __init__(
        self,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] | None = None,
        padding: int | tuple[int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        # as torch, this one keeps its sizes as 1-tuples (and shows them so in its repr)
        def single(v: Any) -> Any:
            return (v,) if isinstance(v, int) else v

        stride = kernel_size if stride is None else stride
        super().__init__(single(kernel_size), single(stride), single(padding), ceil_mode, count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling over (N, C, H, W) inputs, as torch.nn.AvgPool2d (see functional.avg_pool2d).

    Args:
        kernel_size: the window size, an int or a pair.
        stride: the step between windows (default: kernel_size).
        padding: implicit zero padding on each side (at most half the kernel size).
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the zero padding in each window's divisor.
        divisor_override: divide every window's sum by this instead.

    Example:
        >>> AvgPool2d(2)(randn(8, 16, 28, 28)).shape
        (8, 16, 14, 14)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class _AdaptiveAvgPoolNd(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling to a fixed output length, as torch.nn.AdaptiveAvgPool1d."""

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling to a fixed output size, whatever the input size, as torch.

    Output row i averages input rows floor(i H / oH) to ceil((i + 1) H / oH) (exclusive),
    likewise for columns (see functional.adaptive_avg_pool2d).

    Args:
        output_size: (oH, oW), or one int for both; None keeps that dim's input size.

    Example:
        >>> AdaptiveAvgPool2d((1, 1))(randn(2, 64, 7, 7)).shape     # global average pooling
        (2, 64, 1, 1)
    """

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)
