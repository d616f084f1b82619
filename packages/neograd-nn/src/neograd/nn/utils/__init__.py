"""neograd.nn.utils: gradient clipping, parameter vectors, grad_check, and the data tools (``data``)."""

from neograd.nn.utils import data, rnn
from neograd.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from neograd.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from neograd.nn.utils.data import get_batches
from neograd.nn.utils.grad_check import grad_check

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
    "grad_check",
    "get_batches",
    "data",
    "rnn",
]
