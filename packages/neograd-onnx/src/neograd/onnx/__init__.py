"""neograd.onnx: models out to ONNX and back, as torch.onnx.

- ``export(model, args, f, ...)``: trace one call of the model and write it as an ONNX file
  that onnxruntime (or any ONNX runtime) runs; torch.onnx.export's signature.
- ``load(path_or_model)``: an ONNX graph as an ``nn.Module`` that runs on neograd's ops,
  whose initializers are Parameters: it trains, saves and loads like any module.

A custom Function exports once it has a static ``symbolic(g, *inputs, **kwargs)`` method
that adds its ONNX nodes (``g.op("Relu", x)``) and returns the output's name.

Example:
    >>> from neograd import nn, randn, onnx
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> onnx.export(model, randn(1, 4), "mlp.onnx", dynamic_axes={"input": [0], "output": [0]})
    >>> again = onnx.load("mlp.onnx")      # an nn.Module with the same parameters
"""

from neograd.onnx.__about__ import __version__
from neograd.onnx.export import DEFAULT_OPSET, Graph, export
from neograd.onnx.load import OnnxModule, load
from neograd.onnx.symbolic import REGISTRY, register

__all__ = ["__version__", "export", "load", "OnnxModule", "Graph", "REGISTRY", "register", "DEFAULT_OPSET"]
