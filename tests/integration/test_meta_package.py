"""The meta-package: `import neograd as ng` gives the torch-like namespace and the seed's paths."""

import importlib
import importlib.metadata as md
import json
import math
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import neograd as ng
import neograd.autograd
import neograd.nn
import neograd.nn.serialization
import neograd.nn.utils.data
import neograd.optim
import neograd.utils.data

SIBLINGS = {"neograd-autograd": neograd.autograd, "neograd-nn": neograd.nn, "neograd-optim": neograd.optim}


def run_python(code):
    """Run ``code`` in a fresh interpreter (imports happen in a user's order); its last line is JSON."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- the namespace ---------------------------------------------------------------------------
def test_every_public_name_of_autograd_is_the_same_object_at_the_top_level():
    names = [name for name in neograd.autograd.__all__ if name != "__version__"]
    assert len(names) > 100
    missing = [name for name in names if not hasattr(ng, name)]
    assert missing == []
    different = [name for name in names if getattr(ng, name) is not getattr(neograd.autograd, name)]
    assert different == []
    assert set(names) <= set(ng.__all__)
    assert ng.bool is neograd.autograd.bool and ng.float is ng.float32  # torch.bool, torch.float


def test_the_top_level_all_lists_only_names_that_exist_once():
    assert [name for name in ng.__all__ if not hasattr(ng, name)] == []
    assert len(ng.__all__) == len(set(ng.__all__))


def test_the_sub_packages_are_attributes():
    assert ng.autograd is sys.modules["neograd.autograd"]
    assert ng.nn is sys.modules["neograd.nn"]
    assert ng.optim is sys.modules["neograd.optim"]
    assert {"autograd", "nn", "optim", "utils", "save", "load", "version"} <= set(ng.__all__)


def test_the_seed_autograd_snippet_works_at_the_top_level():
    a = ng.tensor(3, requires_grad=True)
    b = ng.tensor([1, 2, 3], requires_grad=True)
    c = a + b
    c.backward([1, 1, 1])
    assert a.grad.item() == 3  # a was broadcast over three elements
    assert b.grad.tolist() == [1, 1, 1]
    assert ng.tensor([1.0, 2.0]).dtype == ng.float32


# ---- ng.utils.data ---------------------------------------------------------------------------
def test_utils_data_is_the_nn_data_tools_at_torchs_path():
    from neograd.utils.data import DataLoader, TensorDataset

    assert ng.utils.data is neograd.utils.data
    assert DataLoader is neograd.nn.utils.data.DataLoader
    assert TensorDataset is neograd.nn.utils.data.TensorDataset
    assert set(ng.utils.data.__all__) == set(neograd.nn.utils.data.__all__)
    assert all(getattr(ng.utils.data, n) is getattr(neograd.nn.utils.data, n) for n in ng.utils.data.__all__)


def test_a_dataloader_from_utils_data_batches_a_dataset():
    from neograd.utils.data import DataLoader, TensorDataset

    x = ng.arange(10)
    batches = [batch.tolist() for (batch,) in DataLoader(TensorDataset(x), batch_size=4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


# ---- ng.save / ng.load -----------------------------------------------------------------------
def state():
    return {"weight": ng.tensor([[1.5, -2.0], [3.0, 4.25]]), "steps": ng.tensor([1, 2, 3])}


def test_save_and_load_are_the_nn_serialization_functions():
    assert ng.save is neograd.nn.serialization.save
    assert ng.load is neograd.nn.serialization.load


@pytest.mark.parametrize("name", ["weights.safetensors", "weights.bin"])
def test_save_writes_safetensors_by_default_and_load_gives_tensors_back(tmp_path, name):
    path = tmp_path / name
    ng.save(state(), path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    assert header["weight"]["dtype"] == "F32" and header["weight"]["shape"] == [2, 2]
    assert header["steps"]["dtype"] == "I64" and header["steps"]["shape"] == [3]
    loaded = ng.load(path)
    assert isinstance(loaded, dict) and list(loaded) == ["weight", "steps"]
    assert all(isinstance(t, ng.Tensor) for t in loaded.values())
    assert loaded["weight"].tolist() == [[1.5, -2.0], [3.0, 4.25]]
    assert loaded["weight"].dtype == ng.float32
    assert loaded["steps"].tolist() == [1, 2, 3] and loaded["steps"].dtype == ng.int64


def test_save_writes_npz_when_the_name_ends_in_npz(tmp_path):
    path = tmp_path / "weights.npz"
    ng.save(state(), path)
    assert sorted(zipfile.ZipFile(path).namelist()) == ["steps.npy", "weight.npy"]
    with np.load(path, allow_pickle=False) as arrays:
        np.testing.assert_array_equal(arrays["weight"], [[1.5, -2.0], [3.0, 4.25]])
    loaded = ng.load(path)
    assert loaded["weight"].tolist() == [[1.5, -2.0], [3.0, 4.25]] and loaded["steps"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("name", ["evil.safetensors", "evil.npz", "evil.pt"])
def test_load_refuses_a_pickle(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"weight": np.zeros(2)}))  # written only; never loaded
    with pytest.raises(ValueError, match="pickle"):
        ng.load(path)


def test_a_model_survives_a_save_load_round_trip(tmp_path):
    ng.manual_seed(0)
    trained = ng.nn.Linear(3, 2)
    ng.manual_seed(1)
    fresh = ng.nn.Linear(3, 2)
    x = ng.randn(4, 3)
    assert not np.array_equal(fresh(x).data, trained(x).data)
    ng.save(trained.state_dict(), tmp_path / "linear.safetensors")
    fresh.load_state_dict(ng.load(tmp_path / "linear.safetensors"))
    np.testing.assert_array_equal(fresh(x).data, trained(x).data)


# ---- versions and dependencies ---------------------------------------------------------------
def test_the_versions_are_those_of_the_installed_distributions():
    assert ng.__version__ == md.version("neograd") == ng.version.__version__
    assert ng.version.autograd == md.version("neograd-autograd") == ng.autograd.__version__
    assert ng.version.nn == md.version("neograd-nn") == ng.nn.__version__
    assert ng.version.optim == md.version("neograd-optim") == ng.optim.__version__
    for version in (ng.__version__, ng.version.autograd, ng.version.nn, ng.version.optim):
        Version(version)  # PEP 440, or InvalidVersion


def test_the_meta_package_depends_on_compatible_ranges_of_the_three_packages():
    everything = [Requirement(r) for r in md.requires("neograd")]
    requirements = [r for r in everything if r.marker is None]  # the extras aside
    assert sorted(r.name for r in requirements) == sorted(SIBLINGS)
    extras = [r for r in everything if r.marker is not None and r.name.startswith("neograd-")]
    assert "neograd-distributed" in {r.name for r in extras}
    for requirement in requirements + extras:
        operators = {spec.operator for spec in requirement.specifier}
        assert not operators & {"==", "==="}, requirement  # a pin would force lockstep releases
        assert operators & {"<", "~="}, requirement  # an upper bound: the next minor may break
        assert requirement.specifier.contains(md.version(requirement.name)), requirement


def test_ng_distributed_is_the_installed_neograd_distributed():
    distributed = importlib.import_module("neograd.distributed")
    assert ng.distributed is distributed
    assert ng.version.distributed == md.version("neograd-distributed") == distributed.__version__


def test_ng_distributed_says_how_to_install_it_when_missing():
    result = run_python(
        """
        import json, sys

        class NoDistributed:
            def find_spec(self, name, path=None, target=None):
                if name == "neograd.distributed" or name.startswith("neograd.distributed."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoDistributed())
        import neograd as ng
        try:
            ng.distributed
        except AttributeError as e:
            message = str(e)
        has = hasattr(ng, "distributed")
        print(json.dumps({"message": message, "has": has, "v": ng.version.distributed}))
        """
    )
    assert "pip install neograd[distributed]" in result["message"]
    assert result["has"] is False and result["v"] is None


def test_neograd_nn_does_not_depend_on_neograd_optim_or_the_meta_package():
    names = {Requirement(r).name for r in md.requires("neograd-nn")}
    assert "neograd-autograd" in names
    assert not names & {"neograd-optim", "neograd"}


def test_every_module_of_neograd_nn_imports_without_neograd_optim():
    # A `neograd` namespace made of the autograd and nn source roots only, so neither the
    # meta-package's __init__ (which registers nn.optim) nor neograd.optim can be reached.
    roots = [str(Path(m.__file__).parents[1]) for m in (neograd.autograd, neograd.nn)]
    result = run_python(
        f"""
        import importlib, json, pkgutil, sys, types

        class NoOptim:
            def find_spec(self, name, path=None, target=None):
                if name == "neograd.optim" or name.startswith("neograd.optim."):
                    raise ImportError(f"neograd-nn imported {{name}}")
                return None

        sys.meta_path.insert(0, NoOptim())
        namespace = types.ModuleType("neograd")
        namespace.__path__ = {roots!r}
        sys.modules["neograd"] = namespace
        import neograd.nn
        names = [m.name for m in pkgutil.walk_packages(neograd.nn.__path__, "neograd.nn.")]
        for name in names:
            importlib.import_module(name)
        print(json.dumps({{"modules": names, "loaded": sorted(sys.modules)}}))
        """
    )
    assert "neograd.nn.serialization" in result["modules"] and len(result["modules"]) > 10
    assert not [name for name in result["loaded"] if name.startswith("neograd.optim")]
    assert "neograd.nn.optim" not in result["loaded"]


# ---- the seed's paths ------------------------------------------------------------------------
def test_the_seeds_imports_work_first_thing_in_a_fresh_interpreter():
    result = run_python(
        """
        import json
        from neograd.nn.loss import BCE
        from neograd.nn.optim import GD
        import neograd.nn.optim
        import neograd as ng
        import neograd.optim
        print(json.dumps({
            "GD": GD is neograd.optim.GD,
            "module": neograd.nn.optim is neograd.optim and ng.nn.optim is neograd.optim,
            "BCE": BCE is ng.nn.loss.BCE,
        }))
        """
    )
    assert result == {"GD": True, "module": True, "BCE": True}


def test_the_seeds_optimizer_loss_and_model_class_work():
    from neograd.nn.loss import BCE
    from neograd.nn.optim import GD

    w = ng.tensor([1.0, -2.0], requires_grad=True)
    optimizer = GD([w], 0.25)
    (w * w).sum().backward()  # gradient 2w
    optimizer.step()
    assert w.tolist() == [0.5, -1.0]  # w - 0.25 * 2w
    assert math.isclose(BCE()(ng.tensor([[0.5]]), ng.tensor([[1.0]])).item(), math.log(2), rel_tol=1e-6)

    class NN(ng.nn.Model):
        def __init__(self):
            super().__init__(self)
            self.stack = ng.nn.Sequential(ng.nn.Linear(2, 10), ng.nn.ReLU(), ng.nn.Linear(10, 1))

        def forward(self, inputs):
            return self.stack(inputs)

    model = NN()
    assert [tuple(p.shape) for p in model.get_params()] == [(10, 2), (10,), (1, 10), (1,)]
    assert model(ng.randn(5, 2)).shape == (5, 1)


def test_no_track_stops_recording_the_graph():
    w = ng.tensor([1.0, 2.0], requires_grad=True)
    with ng.no_track():
        assert not ng.is_grad_enabled()
        y = w * 2
    assert ng.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert (w * 2).requires_grad
