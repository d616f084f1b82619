"""Loading is safe: no pickle on any load path; crafted checkpoints are refused, all or nothing.

Every crafted checkpoint below has its SHA-256 updated in the index, as an attacker (or a
bug) would, so that the refusal comes from checking the content itself. After each
refusal the model, the optimizer, the scheduler and both random states must be exactly
as they were.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neograd as ng_meta
import neograd.autograd as ng
from neograd import nn
from neograd.nn.serialization import load, load_metadata, save
from neograd.optim import Adam
from neograd.optim.lr_scheduler import MultiStepLR

PACKAGES = Path(__file__).resolve().parents[2] / "packages"


class Canary:
    """Unpickling this runs code: it creates the file at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def setup(tmp_path: Path) -> tuple[nn.Module, Adam, MultiStepLR, nn.Checkpoint, str]:
    """A trained model with one checkpoint, then trained further (so that loading would change it)."""
    ng.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = Adam(model.parameters(), lr=0.01)
    scheduler = MultiStepLR(optimizer, [1, 3])

    def step() -> None:
        optimizer.zero_grad()
        model(ng.randn(5, 3)).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()

    step()
    ckpt = nn.Checkpoint(model, tmp_path, optimizer, scheduler)
    name = ckpt.add(step=1)
    step()
    return model, optimizer, scheduler, ckpt, name


def everything(model: nn.Module, optimizer: Adam, scheduler: MultiStepLR) -> list[Any]:
    sd = optimizer.state_dict()
    return [
        *(v.data.copy() for v in model.state_dict().values()),
        repr(sd["param_groups"]),
        *(np.array(v, copy=True) for s in sd["state"].values() for v in s.values()),
        repr(scheduler.state_dict()),
        repr(ng.get_rng_state()),
        repr(np.random.get_state()),
    ]


def assert_unchanged(before: list[Any], after: list[Any]) -> None:
    assert len(before) == len(after)
    for a, b in zip(before, after):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        else:
            assert a == b


def rewrite(ckpt: nn.Checkpoint, name: str, data: bytes) -> None:
    """Replace a checkpoint file's bytes and record their SHA-256 in the index."""
    (Path(ckpt.dirpath) / ckpt.session / f"{name}.safetensors").write_bytes(data)
    index_path = Path(ckpt.dirpath) / "checkpoints.json"
    index = json.loads(index_path.read_text())
    index["sessions"][ckpt.session][name]["sha256"] = hashlib.sha256(data).hexdigest()
    index_path.write_text(json.dumps(index))


def restructure(ckpt: nn.Checkpoint, name: str, change: Callable[[dict, dict], None]) -> None:
    """Rewrite a checkpoint with ``change(arrays, state)`` applied: a well-formed file that lies."""
    path = Path(ckpt.dirpath) / ckpt.session / f"{name}.safetensors"
    arrays = {k: v.data for k, v in load(path).items()}
    metadata = load_metadata(path)
    state = json.loads(metadata["state"])
    change(arrays, state)
    # a placeholder for JSON too deep for json.dumps itself
    metadata["state"] = json.dumps(state).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
    crafted = path.with_name("crafted.safetensors")
    save(arrays, crafted, metadata=metadata)
    rewrite(ckpt, name, crafted.read_bytes())
    crafted.unlink()


def valid_bytes(ckpt: nn.Checkpoint, name: str) -> bytes:
    return (Path(ckpt.dirpath) / ckpt.session / f"{name}.safetensors").read_bytes()


def _set_group(key: str, value: Any) -> Callable[[dict, dict], None]:
    def change(arrays: dict, state: dict) -> None:
        state["optimizer"]["param_groups"][0][key] = value

    return change


def _rename_model_key(arrays: dict, state: dict) -> None:
    arrays["model/0.weightX"] = arrays.pop("model/0.weight")
    state["model"][0] = "0.weightX"


def _reshape_model(arrays: dict, state: dict) -> None:
    arrays["model/0.weight"] = arrays["model/0.weight"].reshape(3, 4)


def _float64_model(arrays: dict, state: dict) -> None:
    arrays["model/2.bias"] = arrays["model/2.bias"].astype(np.float64)


def _float64_moment(arrays: dict, state: dict) -> None:
    # the optimizer's state dict: {"state": {"__dict__": [[0, {...}], ...]}, "param_groups": [...]}
    key = state["optimizer"]["state"]["__dict__"][0][1]["exp_avg"]["__array__"]
    arrays[key] = arrays[key].astype(np.float64)


def _nan_step_count(arrays: dict, state: dict) -> None:
    state["optimizer"]["state"]["__dict__"][0][1]["step"] = {"__float__": "nan"}


def _nan_in_scheduler(arrays: dict, state: dict) -> None:
    state["scheduler"]["gamma"] = {"__float__": "nan"}


def _string_in_scheduler(arrays: dict, state: dict) -> None:
    state["scheduler"]["last_epoch"] = "7"


def _scheduler_key_missing(arrays: dict, state: dict) -> None:
    del state["scheduler"]["gamma"]  # the scheduler itself refuses it, after the model and optimizer loaded


def _extra_tensor(arrays: dict, state: dict) -> None:
    arrays["model/hidden"] = np.zeros(3, np.float32)


def _missing_tensor(arrays: dict, state: dict) -> None:
    state["model"].append("3.weight")


def _tensor_used_twice(arrays: dict, state: dict) -> None:
    state["optimizer"]["state"]["__dict__"][0][1]["exp_avg_sq"] = state["optimizer"]["state"]["__dict__"][0][
        1
    ]["exp_avg"]


def _unknown_tag(arrays: dict, state: dict) -> None:
    state["scheduler"]["gamma"] = {"__pickle__": "gASV..."}


def _bad_rng(arrays: dict, state: dict) -> None:
    state["rng"]["neograd"]["state"]["state"] = -5


def _bad_numpy_rng(arrays: dict, state: dict) -> None:
    key = state["rng"]["numpy"]["__tuple__"][1]["__array__"]
    arrays[key] = arrays[key][:100]  # MT19937 has 624 words of state


def _no_optimizer_state(arrays: dict, state: dict) -> None:
    for key in [k for k in arrays if k.startswith("optimizer/")]:
        del arrays[key]
    state["optimizer"] = None


def _missing_part(arrays: dict, state: dict) -> None:
    del state["rng"]


def _deep_nesting(arrays: dict, state: dict) -> None:
    state["scheduler"]["gamma"] = "DEEP"


CRAFTED = {
    "nan learning rate": (_set_group("lr", {"__float__": "nan"}), ValueError, "lr"),
    "negative learning rate": (_set_group("lr", -1.0), ValueError, "lr"),
    "string hyperparameter": (_set_group("eps", "1e-8"), TypeError, "eps"),
    "model key renamed": (_rename_model_key, RuntimeError, "Unexpected key.*0.weightX"),
    "model tensor of another shape": (_reshape_model, RuntimeError, "size mismatch for 0.weight"),
    "model tensor of another dtype": (_float64_model, RuntimeError, "dtype mismatch for 2.bias"),
    "optimizer moment of another dtype": (_float64_moment, ValueError, "exp_avg.*float64"),
    "nan step count": (_nan_step_count, ValueError, "'step' should be a finite number"),
    "nan in the scheduler": (_nan_in_scheduler, ValueError, "scheduler.*NaN"),
    "string where the scheduler has an int": (_string_in_scheduler, ValueError, "expected a int"),
    "scheduler entry missing": (_scheduler_key_missing, ValueError, "gamma"),
    "tensor nothing refers to": (_extra_tensor, ValueError, "nothing refers to"),
    "reference to a missing tensor": (_missing_tensor, ValueError, "does not hold"),
    "one tensor referred to twice": (_tensor_used_twice, ValueError, "twice"),
    "unknown tag": (_unknown_tag, ValueError, "unknown tagged value"),
    "invalid neograd random state": (_bad_rng, ValueError, "invalid random state"),
    "invalid numpy random state": (_bad_numpy_rng, ValueError, "invalid random state"),
    "optimizer state missing": (_no_optimizer_state, ValueError, "no optimizer state"),
    "part missing": (_missing_part, ValueError, "must have exactly"),
    "nested 100000 deep": (_deep_nesting, ValueError, "JSON|nested"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_checkpoint_is_refused_all_or_nothing(tmp_path: Path, case: str) -> None:
    change, error, match = CRAFTED[case]
    model, optimizer, scheduler, ckpt, name = setup(tmp_path)
    restructure(ckpt, name, change)
    before = everything(model, optimizer, scheduler)
    with pytest.raises(error, match=match):
        ckpt.resume()
    assert_unchanged(before, everything(model, optimizer, scheduler))


def _pickle_payload(tmp_path: Path) -> bytes:
    return pickle.dumps({"weights": Canary(str(tmp_path / "pwned"))})


def _zip_with_pickle(tmp_path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # torch.save's layout: a pickle inside a zip
        archive.writestr("archive/data.pkl", _pickle_payload(tmp_path))
    return buffer.getvalue()


RAW = {
    "pickle payload": (_pickle_payload, "pickle"),
    "zip holding a pickle": (_zip_with_pickle, "zip archive"),
    "truncated": (lambda good: good[: len(good) // 2], "truncated"),
    "empty": (lambda good: b"", "fewer than the 8"),
    "header length lies": (lambda good: (10**6).to_bytes(8, "little") + good[8:], "header length"),
    "data offsets lie": (
        lambda good: good.replace(b'"data_offsets":[0,', b'"data_offsets":[8,', 1),
        "data_offsets|gap|overlaps",
    ),
    "garbage": (lambda good: os.urandom(len(good)), "not a valid safetensors"),
}


@pytest.mark.parametrize("case", list(RAW))
def test_crafted_bytes_are_refused_all_or_nothing(tmp_path: Path, case: str) -> None:
    make, match = RAW[case]
    model, optimizer, scheduler, ckpt, name = setup(tmp_path)
    good = valid_bytes(ckpt, name)
    crafted = make(tmp_path) if case in ("pickle payload", "zip holding a pickle") else make(good)
    assert crafted != good
    rewrite(ckpt, name, crafted)
    before = everything(model, optimizer, scheduler)
    with pytest.raises(ValueError, match=match):
        ckpt.resume()
    assert_unchanged(before, everything(model, optimizer, scheduler))
    assert not (tmp_path / "pwned").exists()


def test_a_future_format_version_is_refused(tmp_path: Path) -> None:
    _, _, _, ckpt, name = setup(tmp_path)
    path = Path(ckpt.dirpath) / ckpt.session / f"{name}.safetensors"
    arrays = {k: v.data for k, v in load(path).items()}
    metadata = {**load_metadata(path), "version": "99"}
    save(arrays, path, metadata=metadata)
    rewrite(ckpt, name, path.read_bytes())
    with pytest.raises(ValueError, match="format version '99'"):
        ckpt.resume()


def test_a_file_changed_behind_the_index_is_refused(tmp_path: Path) -> None:
    """Without updating the index: the SHA-256 differs (corruption, or a swapped file)."""
    model, optimizer, scheduler, ckpt, name = setup(tmp_path)
    path = Path(ckpt.dirpath) / ckpt.session / f"{name}.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    path.write_bytes(bytes(data))
    before = everything(model, optimizer, scheduler)
    with pytest.raises(ValueError, match="SHA-256 differs"):
        ckpt.resume()
    assert_unchanged(before, everything(model, optimizer, scheduler))
    path.unlink()
    with pytest.raises(ValueError, match="the file is missing"):
        ckpt.resume()


INDEX_ATTACKS = {
    "path traversal in a name": (
        lambda index, s, n: index["sessions"][s].update({"../../../etc/passwd": index["sessions"][s][n]}),
        "invalid record",
    ),
    "path traversal in a session": (
        lambda index, s, n: index["sessions"].update({"../..": index["sessions"][s]}),
        "invalid session",
    ),
    "NaN constant": (
        lambda index, s, n: index["sessions"][s][n].update(step=float("nan")),
        "not well-formed JSON",
    ),
    "negative step": (lambda index, s, n: index["sessions"][s][n].update(step=-1), "invalid record"),
    "another program's JSON": (lambda index, s, n: index.update(format="something"), "does not say"),
    "future version": (lambda index, s, n: index.update(version=99), "version 99"),
}


@pytest.mark.parametrize("case", list(INDEX_ATTACKS))
def test_a_crafted_index_is_refused(tmp_path: Path, case: str) -> None:
    change, match = INDEX_ATTACKS[case]
    model, _, _, ckpt, name = setup(tmp_path)
    index_path = tmp_path / "checkpoints.json"
    index = json.loads(index_path.read_text())
    change(index, ckpt.session, name)
    index_path.write_text(json.dumps(index))
    with pytest.raises(ValueError, match=match):
        ckpt.resume()
    with pytest.raises(ValueError, match=match):
        nn.Checkpoint(model, tmp_path)


def test_a_pickled_index_is_refused_without_unpickling(tmp_path: Path) -> None:
    _, _, _, ckpt, _ = setup(tmp_path)
    (tmp_path / "checkpoints.json").write_bytes(_pickle_payload(tmp_path))
    with pytest.raises(ValueError, match="not well-formed JSON"):
        ckpt.resume()
    assert not (tmp_path / "pwned").exists()


# ---- no pickle anywhere on a load path -----------------------------------------------------------
# ng.compile runs the replay function it writes itself: its source is generated names and integers
# (values reach it as objects in its namespace), nothing read from a file or taken from a user
GENERATED_CODE = {("compile.py", "exec")}


def test_the_packages_never_import_pickle(tmp_path: Path) -> None:
    """No module of the packages imports an unpickler, or calls eval/exec (but ng.compile's own replay)."""
    forbidden = {
        "pickle",
        "_pickle",
        "cPickle",
        "dill",
        "cloudpickle",
        "joblib",
        "marshal",
        "shelve",
        "copyreg",
    }
    files = sorted(PACKAGES.glob("*/src/neograd/**/*.py"))
    assert len(files) > 30
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if (path.name, node.func.id) in GENERATED_CODE:
                    continue
                assert node.func.id not in ("eval", "exec"), f"{path}:{node.lineno} calls {node.func.id}"
                continue
            else:
                continue
            assert not names & forbidden, f"{path}:{node.lineno} imports {names & forbidden}"
        assert "allow_pickle=True" not in path.read_text(), path


def test_load_paths_run_without_the_unpickler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every unpickling entry point broken, all load paths still work."""
    model, optimizer, _, ckpt, _ = setup(tmp_path)
    ng_meta.save(model.state_dict(), tmp_path / "w.safetensors")
    ng_meta.nn.save(model.state_dict(), tmp_path / "w.npz")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("something tried to unpickle")

    for attr in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, attr, refuse)
    monkeypatch.setattr(np, "load", refuse)  # np.load can unpickle (allow_pickle=True)
    assert ckpt.resume()["step"] == 1
    state = nn.load(tmp_path / "w.safetensors")
    assert set(state) == set(model.state_dict())
    model.load_state_dict(nn.load(tmp_path / "w.npz"))
    optimizer.load_state_dict(optimizer.state_dict())
