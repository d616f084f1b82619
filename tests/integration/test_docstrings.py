"""Every public name of the six packages says what it does: a docstring on each class, function and method.

Public means listed in a public module's ``__all__``; for classes, also every method and
property whose name has no leading underscore (an override may rely on the docstring of
the method it overrides, as ``inspect.getdoc`` does). The main names also show an example.
"""

import importlib
import inspect

import pytest

MODULES = [
    "neograd.autograd",
    "neograd.nn",
    "neograd.nn.functional",
    "neograd.nn.init",
    "neograd.nn.loss",
    "neograd.nn.utils",
    "neograd.nn.utils.data",
    "neograd.optim",
    "neograd.optim.lr_scheduler",
    "neograd.distributed",
    "neograd.onnx",
]

# the names a newcomer meets first: their docstrings show how to use them
MAIN = {
    "neograd.autograd": [
        "Tensor",
        "tensor",
        "Function",
        "grad",
        "gradcheck",
        "no_grad",
        "manual_seed",
        "to_dot",
    ],
    "neograd.nn": ["Module", "Linear", "Conv2d", "Sequential", "CrossEntropyLoss", "MaxPool2d", "Dropout"],
    "neograd.nn.functional": ["cross_entropy", "conv2d", "linear", "relu"],
    "neograd.nn.utils.data": ["DataLoader", "TensorDataset"],
    "neograd.optim": ["SGD", "Adam"],
    "neograd.distributed": [
        "init_process_group",
        "all_reduce",
        "all_gather",
        "all_gather_object",
        "DistributedDataParallel",
        "DistributedSampler",
    ],
    "neograd.optim.lr_scheduler": ["StepLR", "CosineAnnealingLR"],
    "neograd.onnx": ["export", "load"],
}


def public_objects(module_name):
    """(qualified name, object) for each class and function in the module's __all__, and their methods."""
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # submodules, dtypes, the generator, __version__
        yield f"{module_name}.{name}", obj
        if inspect.isclass(obj):
            for attr in dir(obj):
                raw = inspect.getattr_static(obj, attr)
                member = raw.fget if isinstance(raw, property) else getattr(raw, "__func__", raw)
                if attr.startswith("_") or not inspect.isfunction(member):
                    continue
                if member.__module__.startswith("neograd"):
                    yield (
                        f"{module_name}.{name}.{attr}",
                        raw if isinstance(raw, property) else getattr(obj, attr),
                    )


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name):
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no module docstring"
    names = list(public_objects(module_name))
    assert len(names) >= 4
    missing = [name for name, obj in names if not (inspect.getdoc(obj) or "").strip()]
    assert missing == [], f"no docstring: {missing}"


@pytest.mark.parametrize("module_name", MAIN)
def test_the_main_names_show_an_example(module_name):
    module = importlib.import_module(module_name)
    without = [name for name in MAIN[module_name] if "Example" not in (getattr(module, name).__doc__ or "")]
    assert without == [], f"no Example: in the docstring of {without}"


def test_the_walk_finds_methods_and_sees_a_missing_docstring():
    names = dict(public_objects("neograd.nn"))
    assert "neograd.nn.Module.parameters" in names and "neograd.nn.ModuleList.append" in names

    def undocumented():
        pass

    assert inspect.getdoc(undocumented) is None  # what the test above would report
