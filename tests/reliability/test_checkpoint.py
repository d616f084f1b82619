"""Checkpoint: what it saves, sessions, pruning, and training resumed bit for bit."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neograd.autograd as ng
from neograd import nn
from neograd.nn import functional as F  # noqa: N812 -- torch's F
from neograd.nn.serialization import load, load_metadata
from neograd.nn.utils.data import DataLoader, TensorDataset
from neograd.optim import SGD, Adam
from neograd.optim.lr_scheduler import MultiStepLR, StepLR

_data_rng = np.random.default_rng(42)
X = _data_rng.standard_normal((60, 5)).astype(np.float32)
Y = _data_rng.integers(0, 3, 60)
BATCHES_PER_EPOCH = 4  # 60 samples in batches of 16


def make(seed: int = 0) -> tuple[nn.Module, Any, Any]:
    """A model with dropout and batch norm, Adam and a scheduler, initialised from ``seed``."""
    ng.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 3))
    optimizer = Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    return model, optimizer, MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)


def train_step(model: nn.Module, optimizer: Any, xb: ng.Tensor, yb: ng.Tensor) -> float:
    # NumPy's global generator too (augmentation noise), to show its state is restored as well
    xb = xb + ng.tensor(np.random.standard_normal(xb.shape).astype(np.float32) * 0.01)
    loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def snapshot(model: nn.Module, optimizer: Any = None, scheduler: Any = None) -> list[Any]:
    """Everything that must come back bit for bit, as plain comparable values."""
    out: list[Any] = [(k, v.data.copy()) for k, v in model.state_dict().items()]
    if optimizer is not None:
        sd = optimizer.state_dict()
        out.append(repr(sd["param_groups"]))
        out += [(i, k, v) for i, s in sd["state"].items() for k, v in s.items()]
    if scheduler is not None:
        out.append(repr(scheduler.state_dict()))
    return out


def assert_same(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, tuple):
            assert x[:-1] == y[:-1]
            if isinstance(x[-1], np.ndarray):
                assert x[-1].dtype == y[-1].dtype and np.array_equal(x[-1], y[-1]), x[:-1]
            else:
                assert x[-1] == y[-1], x
        else:
            assert x == y


# ---- training interrupted and resumed ends bit for bit where uninterrupted training does ----------
def test_resume_at_epoch_boundaries_is_bit_exact(tmp_path: Path) -> None:
    """Dropout, a DataLoader shuffled by neograd's generator and NumPy noise: checkpoints after epochs."""
    epochs = 5

    def loader() -> DataLoader:
        return DataLoader(TensorDataset(ng.tensor(X), ng.tensor(Y)), batch_size=16, shuffle=True)

    def run_epochs(model: nn.Module, optimizer: Any, scheduler: Any, first: int, last: int, ckpt: Any = None):
        losses = []
        for epoch in range(first, last):
            for xb, yb in loader():
                losses.append(train_step(model, optimizer, xb, yb))
            scheduler.step()
            if ckpt is not None:
                ckpt.add(step=epoch + 1, loss=losses[-1])
        return losses

    np.random.seed(0)
    model, optimizer, scheduler = make()
    expected_losses = run_epochs(model, optimizer, scheduler, 0, epochs)
    expected = snapshot(model, optimizer, scheduler)

    np.random.seed(0)
    model, optimizer, scheduler = make()
    ckpt = nn.Checkpoint(model, tmp_path, optimizer, scheduler)
    losses = run_epochs(model, optimizer, scheduler, 0, 2, ckpt)
    del model, optimizer, scheduler, ckpt  # the crash: all that is left is the directory

    ng.manual_seed(999)  # a new process: other random states, other initial weights
    np.random.seed(999)
    model, optimizer, scheduler = make(seed=123)
    ckpt = nn.Checkpoint(model, tmp_path, optimizer, scheduler)
    state = ckpt.resume()
    assert state["step"] == 2 and state["loss"] == losses[-1]
    losses += run_epochs(model, optimizer, scheduler, state["step"], epochs)

    assert losses == expected_losses
    assert_same(snapshot(model, optimizer, scheduler), expected)


def test_resume_mid_epoch_with_a_per_epoch_generator_is_bit_exact(tmp_path: Path) -> None:
    """Mid-epoch: the DataLoader's order comes from a generator seeded by the epoch; skip what was done."""
    total = 3 * BATCHES_PER_EPOCH

    def run_steps(model: nn.Module, optimizer: Any, first: int, last: int, ckpt: Any = None) -> list[float]:
        losses, step = [], first
        while step < last:
            epoch, done = divmod(step, BATCHES_PER_EPOCH)
            generator = np.random.default_rng([7, epoch])
            loader = DataLoader(
                TensorDataset(ng.tensor(X), ng.tensor(Y)), 16, shuffle=True, generator=generator
            )
            for xb, yb in itertools.islice(loader, done, None):
                losses.append(train_step(model, optimizer, xb, yb))
                step += 1
                if ckpt is not None and step % 3 == 0:
                    ckpt.add(step=step)
                if step == last:
                    break
        return losses

    np.random.seed(0)
    model, optimizer, _ = make()
    expected_losses = run_steps(model, optimizer, 0, total)
    expected = snapshot(model, optimizer)

    np.random.seed(0)
    model, optimizer, _ = make()
    losses = run_steps(model, optimizer, 0, 7, nn.Checkpoint(model, tmp_path, optimizer, keep=2))
    model, optimizer, _ = make(seed=5)
    ckpt = nn.Checkpoint(model, tmp_path, optimizer)
    state = ckpt.resume()
    assert state["step"] == 6  # the newest checkpoint: mid-epoch (epoch 1, 2 batches done)
    losses = losses[:6] + run_steps(model, optimizer, 6, total)

    assert losses == expected_losses
    assert_same(snapshot(model, optimizer), expected)


def test_the_random_states_are_what_makes_resume_exact(tmp_path: Path) -> None:
    """The same resume, with neograd's generator disturbed after it, ends elsewhere: the test can fail."""
    model, optimizer, _ = make()
    xb, yb = ng.tensor(X[:16]), ng.tensor(Y[:16])
    ckpt = nn.Checkpoint(model, tmp_path, optimizer)
    ckpt.add(step=0)
    train_step(model, optimizer, xb, yb)
    expected = snapshot(model, optimizer)
    for disturb, same in ((False, True), (True, False)):
        assert ckpt.resume()["step"] == 0
        if disturb:
            ng.default_generator.random()  # a different dropout mask
        train_step(model, optimizer, xb, yb)
        after = snapshot(model, optimizer)
        if same:
            assert_same(after, expected)
        else:
            assert not all(np.array_equal(a[1], b[1]) for a, b in zip(after[:3], expected[:3]))


def test_resume_restores_both_random_states(tmp_path: Path) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path)
    ng.manual_seed(3)
    np.random.seed(3)
    ckpt.add()
    expected = (ng.randn(4).data, np.random.standard_normal(4))
    ng.manual_seed(4)
    np.random.seed(4)
    ckpt.resume()
    got = (ng.randn(4).data, np.random.standard_normal(4))
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


# ---- what is saved, and how -------------------------------------------------------------------------
def test_file_layout_is_safetensors_plus_a_json_index(tmp_path: Path) -> None:
    model, optimizer, scheduler = make()
    train_step(model, optimizer, ng.tensor(X[:16]), ng.tensor(Y[:16]))
    ckpt = nn.Checkpoint(model, tmp_path, optimizer, scheduler)
    name = ckpt.add(step=7, loss=0.5, note="warm-up", history=[1, 2.5], info={"a": None, "b": True})

    index = json.loads((tmp_path / "checkpoints.json").read_text())
    assert index["format"] == "neograd.checkpoint.index" and index["version"] == 1
    record = index["sessions"][ckpt.session][name]
    assert record["step"] == 7
    assert record["tracked"] == {
        "loss": 0.5,
        "note": "warm-up",
        "history": [1, 2.5],
        "info": {"a": None, "b": True},
    }

    path = tmp_path / ckpt.session / f"{name}.safetensors"
    metadata = load_metadata(path)
    assert metadata["format"] == "neograd.checkpoint" and metadata["version"] == "1"
    state = json.loads(metadata["state"])
    assert state["step"] == 7 and state["model"] == list(model.state_dict())
    tensors = load(path)
    for key, value in model.state_dict().items():
        assert np.array_equal(tensors["model/" + key].data, value.data)
    assert any(k.startswith("optimizer/") for k in tensors) and any(k.startswith("rng/") for k in tensors)


def test_tracked_values_come_back_with_step_and_datetime(tmp_path: Path) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path)
    ckpt.add(loss=np.float32(0.25), acc=np.int64(3), bad=float("nan"), big=float("inf"), keys={"__x": 1})
    state = nn.Checkpoint(model, tmp_path).resume()
    assert state["step"] == 1 and isinstance(state["datetime"], str)
    assert state["loss"] == 0.25 and type(state["loss"]) is float and state["acc"] == 3
    assert np.isnan(state["bad"]) and state["big"] == float("inf") and state["keys"] == {"__x": 1}
    assert "NaN" not in (tmp_path / "checkpoints.json").read_text()  # the index stays standard JSON
    assert ckpt.add() and ckpt.add(step=10) and ckpt.add()
    assert [r["step"] for r in ckpt.records.values()] == [1, 2, 10, 11]


def test_keep_prunes_oldest_only_after_the_new_one_is_listed(tmp_path: Path) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path, keep=2)
    names = [ckpt.add(step=s) for s in range(5)]
    assert list(ckpt.records) == names[-2:]
    files = sorted(os.listdir(tmp_path / ckpt.session))
    assert files == sorted(f"{n}.safetensors" for n in names[-2:])


def test_leftovers_of_interrupted_saves_are_removed(tmp_path: Path) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path)
    first = ckpt.add()
    directory = tmp_path / ckpt.session
    (directory / ".000002-0123abcd.safetensors.0011223344556677.tmp").write_bytes(b"half a file")
    (directory / "000002-0123abcd.safetensors").write_bytes(b"renamed, never listed")
    (directory / "notes.txt").write_text("the user's own file")
    second = ckpt.add()
    assert sorted(os.listdir(directory)) == sorted(
        [f"{first}.safetensors", f"{second}.safetensors", "notes.txt"]
    )


def test_sessions_as_in_the_original(tmp_path: Path) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path)
    assert ckpt.sessions == [] and ckpt.resume() is None
    ckpt.add(step=1, run="first")
    first = ckpt.session
    ckpt.new_session()
    assert ckpt.session != first and ckpt.resume() is None and ckpt.records == {}
    ckpt.add(step=1, run="second")
    assert ckpt.sessions == [first, ckpt.session]
    # a new Checkpoint continues the newest session; specify_session goes back to another
    again = nn.Checkpoint(model, tmp_path)
    assert again.session == ckpt.session and again.resume()["run"] == "second"
    again.specify_session(first)
    assert again.resume()["run"] == "first"
    assert nn.Checkpoint(model, tmp_path, session=first).resume()["run"] == "first"
    with pytest.raises(ValueError, match="invalid session 'nope'"):
        again.specify_session("nope")
    with pytest.raises(ValueError, match="invalid session"):
        nn.Checkpoint(model, tmp_path, session="nope")


def test_load_a_named_checkpoint_and_load_params_false(tmp_path: Path) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path)
    weight = model[0].weight
    first = ckpt.add(step=1)
    saved = weight.data.copy()
    with ng.no_grad():
        weight.add_(1.0)
    ckpt.add(step=2)
    assert ckpt.load(first, load_params=False)["step"] == 1
    assert not np.array_equal(weight.data, saved)  # untouched
    assert ckpt.load(first)["step"] == 1
    assert np.array_equal(weight.data, saved)
    with pytest.raises(ValueError, match="no checkpoint 'x'"):
        ckpt.load("x")


def test_sgd_with_momentum_and_step_lr(tmp_path: Path) -> None:
    """Another optimizer and scheduler round-trip (momentum buffers are None until the first step)."""
    ng.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    ckpt = nn.Checkpoint(model, tmp_path, optimizer, scheduler)
    ckpt.add()  # before any step: empty optimizer state
    model(ng.ones(4, 3)).sum().backward()
    optimizer.step()
    scheduler.step()
    ckpt.add()
    expected = snapshot(model, optimizer, scheduler)
    ng.manual_seed(1)
    model2 = nn.Linear(3, 2)
    optimizer2 = SGD(model2.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler2 = StepLR(optimizer2, step_size=1, gamma=0.5)
    nn.Checkpoint(model2, tmp_path, optimizer2, scheduler2).resume()
    assert_same(snapshot(model2, optimizer2, scheduler2), expected)
    first = next(iter(ckpt.records))
    nn.Checkpoint(model2, tmp_path, optimizer2, scheduler2).load(first)
    assert optimizer2.state_dict()["state"] == {} and scheduler2.last_epoch == 0


# ---- bad arguments: refused before anything is written ----------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "not a model"}, TypeError, "model must be a neograd.nn.Module"),
        ({"optimizer": object()}, TypeError, "optimizer must have state_dict"),
        ({"scheduler": 3}, TypeError, "scheduler must have state_dict"),
        ({"keep": 0}, ValueError, "keep must be a positive int"),
        ({"keep": 1.5}, ValueError, "keep must be a positive int"),
        ({"keep": True}, ValueError, "keep must be a positive int"),
        ({"dirpath": 3}, TypeError, "dirpath must be a path"),
    ],
)
def test_bad_constructor_arguments(tmp_path: Path, kwargs: dict[str, Any], error: type, match: str) -> None:
    model, _, _ = make()
    args = {"model": model, "dirpath": tmp_path / "ck", **kwargs}
    with pytest.raises(error, match=match):
        nn.Checkpoint(**args)
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"step": -1}, ValueError, "step must be an int >= 0"),
        ({"step": 1.5}, ValueError, "step must be an int >= 0"),
        ({"step": True}, ValueError, "step must be an int >= 0"),
        ({"loss": ng.tensor(1.0)}, TypeError, r"loss: only numbers.*got Tensor \(use .item\(\)"),
        ({"arr": np.zeros(2)}, TypeError, "arr: only numbers"),
        ({"d": {1: 2}}, TypeError, "dict keys must be strings"),
        ({"f": len}, TypeError, "got builtin_function_or_method"),
        ({"datetime": "now"}, ValueError, "'datetime' is recorded by the Checkpoint"),
    ],
)
def test_bad_add_arguments_write_nothing(
    tmp_path: Path, kwargs: dict[str, Any], error: type, match: str
) -> None:
    model, _, _ = make()
    ckpt = nn.Checkpoint(model, tmp_path)
    with pytest.raises(error, match=match):
        ckpt.add(**kwargs)
    assert os.listdir(tmp_path) == []


def test_state_that_json_cannot_hold_is_refused_before_writing(tmp_path: Path) -> None:
    model, optimizer, _ = make()
    optimizer.param_groups[0]["callback"] = print  # not data: a checkpoint cannot hold it
    ckpt = nn.Checkpoint(model, tmp_path, optimizer)
    with pytest.raises(TypeError, match=r"optimizer\['param_groups'\]\[0\]\['callback'\] is a builtin"):
        ckpt.add()
    assert os.listdir(tmp_path) == []
