"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d/2d (their forward: neograd.nn.functional.conv)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neograd.autograd import Tensor, empty
from neograd.nn import init
from neograd.nn.functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, ntuple
from neograd.nn.module import Module, Parameter
from neograd.nn.modules.linear import _check_device

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


class _ConvNd(Module):
    """What every convolution layer shares: hyperparameters, weight, bias, initialisation, repr."""

    _dims = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: Any,
        dtype: Any,
    ) -> None:
        super().__init__()
        name, d = type(self).__name__, self._dims
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{name}: {what} must be a positive int, got {n!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(name, "kernel_size", kernel_size, d)
        self.stride = ntuple(name, "stride", stride, d)
        self.dilation = ntuple(name, "dilation", dilation, d)
        self.output_padding = ntuple(name, "output_padding", output_padding, d, minimum=0)
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding {padding!r}; expected 'valid', 'same' or ints")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding: tuple[int, ...] | str = padding
        else:
            self.padding = ntuple(name, "padding", padding, d, minimum=0)
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw new weights, He-normal: N(0, 2 / fan_in), and zero the bias (as Linear; see the class doc)."""
        init.kaiming_normal_(self.weight, nonlinearity="relu")
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        d = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * d:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) inputs, as torch.nn.Conv1d (see functional.conv1d).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: the kernel length.
        stride, dilation: an int or a 1-tuple.
        padding: an int, a 1-tuple, 'valid' or 'same'.
        groups: split the channels into this many independent blocks.
        bias: add a learned bias per output channel.
        padding_mode: only 'zeros'.
        dtype: of the parameters (default: the default float dtype).

    Attributes:
        weight: (out_channels, in_channels / groups, kernel_size), He-normal (see Conv2d).
        bias: (out_channels,), zeros, or None.

    Shape:
        (N, C_in, L) -> (N, C_out, floor((L + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1)
    """

    _dims = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: str | int | tuple[int] = 0,
        dilation: int | tuple[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_device(type(self).__name__, device)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) inputs, as torch.nn.Conv2d (see functional.conv2d).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: an int or a pair (kH, kW).
        stride, dilation: an int or a pair.
        padding: an int, a pair, 'valid' or 'same' (output size = input size; stride 1).
        groups: split the channels into this many independent blocks.
        bias: add a learned bias per output channel.
        padding_mode: only 'zeros'.
        device: only None or "cpu".
        dtype: of the parameters (default: the default float dtype).

    Attributes:
        weight: (out_channels, in_channels / groups, kH, kW).
        bias: (out_channels,) or None.

    Initialisation (differs from torch, the same as Linear): weight ~ N(0, 2 / fan_in) with
    fan_in = in_channels / groups * kH * kW (He/Kaiming normal, the scale that keeps
    activations steady through ReLU layers) and bias = 0. torch draws both from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)); for that, call ``init.kaiming_uniform_(w, a=math.sqrt(5))``
    and ``init.uniform_(b, -1/sqrt(fan_in), 1/sqrt(fan_in))``, or load torch's weights.

    Shape:
        (N, C_in, H, W) -> (N, C_out, H_out, W_out),
        H_out = floor((H + 2 * padH - dH * (kH - 1) - 1) / sH) + 1.

    Example:
        >>> conv = Conv2d(1, 16, 3, padding=1)
        >>> conv(randn(8, 1, 28, 28)).shape
        (8, 16, 28, 28)
    """

    _dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_device(type(self).__name__, device)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            0,
            dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    _transposed = True
    _functional = staticmethod(conv_transpose2d)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        return self._functional(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """output_padding, or the one that makes the output ``output_size`` (as torch)."""
        if output_size is None:
            return self.output_padding
        d, name = self._dims, type(self).__name__
        wanted = tuple(output_size)[-d:]
        if len(wanted) != d:
            raise ValueError(f"{name}: output_size must have {d} or more elements, got {output_size!r}")
        padding = self.padding if isinstance(self.padding, tuple) else (0,) * d
        result = []
        for i in range(d):
            smallest = (
                (input.shape[-d + i] - 1) * self.stride[i]
                - 2 * padding[i]
                + self.dilation[i] * (self.kernel_size[i] - 1)
                + 1
            )
            if not smallest <= wanted[i] < smallest + self.stride[i]:
                raise ValueError(
                    f"{name}: requested an output size of {wanted}, but valid sizes for dim {i} range "
                    f"from {smallest} to {smallest + self.stride[i] - 1} (input of shape {input.shape})"
                )
            result.append(wanted[i] - smallest)
        return tuple(result)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution, as torch.nn.ConvTranspose1d (see functional.conv_transpose1d).

    Attributes:
        weight: (in_channels, out_channels / groups, kernel_size) -- in_channels first, as torch.
        bias: (out_channels,) or None.

    Shape:
        (N, C_in, L) -> (N, C_out, L_out),
        L_out = (L - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1.
    """

    _dims = 1
    _functional = staticmethod(conv_transpose1d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int],
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] = 0,
        output_padding: int | tuple[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_device(type(self).__name__, device)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype,
        )


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution"), as torch.nn.ConvTranspose2d.

    The gradient of a Conv2d with respect to its input: it upsamples, e.g. stride=2
    doubles the spatial size (see functional.conv_transpose2d).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: an int or a pair.
        stride, dilation: an int or a pair.
        padding: rows/columns removed from each side of the output.
        output_padding: extra rows/columns added after (smaller than stride or dilation).
        groups: split the channels into this many independent blocks.
        bias: add a learned bias per output channel.
        dtype: of the parameters (default: the default float dtype).

    Attributes:
        weight: (in_channels, out_channels / groups, kH, kW) -- in_channels first, as torch;
            He-normal with torch's fan_in for this shape, out_channels / groups * kH * kW (see Conv2d).
        bias: (out_channels,), zeros, or None.

    Shape:
        (N, C_in, H, W) -> (N, C_out, H_out, W_out),
        H_out = (H - 1) * sH - 2 * padH + dH * (kH - 1) + output_padH + 1.
        ``forward(input, output_size)`` picks output_padding so that the output has that size.

    Example:
        >>> up = ConvTranspose2d(16, 8, 2, stride=2)
        >>> up(randn(1, 16, 7, 7)).shape
        (1, 8, 14, 14)
    """

    _dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_device(type(self).__name__, device)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype,
        )
