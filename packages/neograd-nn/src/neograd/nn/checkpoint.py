"""Checkpoint: save training as it goes, and resume it after a crash exactly where it stopped.

The original neograd's Checkpoint (sessions, a record of tracked values per checkpoint),
made crash-safe and pickle-free. The layout of ``dirpath``::

    checkpoints.json               the index: each session's checkpoints in order, with
                                   their step, time, tracked values and SHA-256
    <session>/<name>.safetensors   one checkpoint: every array (weights, optimizer moments,
                                   NumPy's random state) as safetensors, and the structure
                                   around them (optimizer and scheduler state, random
                                   states, step, tracked values) as JSON in its header

Saving a checkpoint happens in three steps, each of which a crash may interrupt:

1. its file is written under a temporary name, synced to disk and renamed into place
   (``neograd.nn.serialization.atomic_write``);
2. only then is the index rewritten the same way, now listing it;
3. only then are the checkpoints beyond ``keep`` and the leftovers of interrupted saves
   deleted.

So the index only ever lists complete checkpoints, and a crash loses at most the one being
written. Nothing is ever unpickled: opening a checkpoint from elsewhere cannot run code.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import json
import math
import numbers
import os
import re
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from neograd.autograd import Tensor, backend
from neograd.autograd.random import check_rng_state, get_rng_state, set_rng_state
from neograd.nn.module import Module
from neograd.nn.serialization import _fsync_directory, atomic_write, load, load_metadata, save

__all__ = ["Checkpoint"]

PathLike = str | os.PathLike

_FORMAT = "neograd.checkpoint"
_VERSION = 1
_INDEX = "checkpoints.json"
# session and checkpoint names, as the index gives them: never a path
_SESSION = re.compile(r"[0-9A-Za-z_-]{1,64}")
_CHECKPOINT = re.compile(r"(\d{6,9})-[0-9a-f]{8}")
_TAGS = ("__array__", "__scalar__", "__tensor__", "__float__", "__tuple__", "__dict__", "__counter__")


class Checkpoint:
    """Save and resume training: model, optimizer, scheduler, random states and tracked values.

    Each ``add()`` writes one checkpoint of everything training needs to continue: the
    model's ``state_dict``, the optimizer's and the scheduler's, neograd's and NumPy's
    random states, the step and the values you track (loss, accuracy...). ``resume()``
    loads the newest one back, so that training interrupted (a crash, a kill, a power cut)
    and resumed ends bit for bit where uninterrupted training would have.

    Checkpoints are grouped in sessions, as in the original neograd: a new Checkpoint
    continues the newest session found in ``dirpath`` (or starts one);
    ``new_session()`` starts another, ``specify_session()`` returns to an older one.

    The random states are those of the moment ``add()`` ran. A shuffled DataLoader draws
    an epoch's order from neograd's generator when the epoch starts, so:

    - at epoch boundaries (``add()`` after an epoch's last batch) resuming is exact as it is;
    - mid-epoch, give the DataLoader a generator seeded from the epoch
      (``np.random.default_rng([seed, epoch])``) and skip the batches already done: the
      epoch's order is then drawn again identically, and dropout continues from the
      restored state.

    Args:
        model: the Module to save and restore.
        dirpath: the directory of the checkpoints (created if missing).
        optimizer: an optimizer whose state is saved too (anything with ``state_dict``,
            ``load_state_dict`` and ``param_groups``).
        scheduler: a learning-rate scheduler whose state is saved too.
        keep: keep only the newest ``keep`` checkpoints of each session (None: all).
        session: the session to continue (None: the newest, or a new one if there is none).

    Example:
        >>> ckpt = Checkpoint(model, "checkpoints", optimizer, keep=3)
        >>> state = ckpt.resume()                  # None the first time
        >>> start = state["step"] if state else 0
        >>> for step in range(start + 1, 1001):
        ...     loss = train_step()
        ...     if step % 100 == 0:
        ...         ckpt.add(step=step, loss=loss.item())
    """

    def __init__(
        self,
        model: Module,
        dirpath: PathLike,
        optimizer: Any = None,
        scheduler: Any = None,
        keep: int | None = None,
        session: str | None = None,
    ) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"Checkpoint: model must be a neograd.nn.Module, got {type(model).__name__}")
        for what, obj, needs in (
            ("optimizer", optimizer, ("state_dict", "load_state_dict", "param_groups")),
            ("scheduler", scheduler, ("state_dict", "load_state_dict")),
        ):
            if obj is not None and not all(hasattr(obj, n) for n in needs):
                raise TypeError(f"Checkpoint: {what} must have {', '.join(needs)}; got {type(obj).__name__}")
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValueError(f"Checkpoint: keep must be a positive int or None, got {keep!r}")
        if not isinstance(dirpath, (str, os.PathLike)):
            raise TypeError(f"Checkpoint: dirpath must be a path, got {type(dirpath).__name__}")
        self.model, self.optimizer, self.scheduler, self.keep = model, optimizer, scheduler, keep
        self.dirpath = os.fspath(dirpath)
        os.makedirs(self.dirpath, exist_ok=True)
        sessions = self._read_index()
        if session is not None:
            self.session = ""
            self.specify_session(session)
        elif sessions:
            self.session = list(sessions)[-1]
        else:
            self.new_session()

    # ---- sessions and records ------------------------------------------------------------------
    @property
    def sessions(self) -> list[str]:
        """The sessions that hold checkpoints, oldest first."""
        return list(self._read_index())

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """The current session's checkpoints, oldest first: name -> step, datetime, tracked values."""
        records = self._read_index().get(self.session, {})
        return {name: {k: r[k] for k in ("step", "datetime", "tracked")} for name, r in records.items()}

    def new_session(self) -> Checkpoint:
        """Start a new session (listed in the index from its first checkpoint on); returns self."""
        self.session = secrets.token_hex(8)
        return self

    def specify_session(self, session: str) -> None:
        """Continue the existing session ``session``: ``add`` and ``resume`` use it from now on."""
        sessions = self._read_index()
        if session not in sessions:
            raise ValueError(f"Checkpoint: invalid session {session!r}; the sessions are {list(sessions)}")
        self.session = session

    # ---- saving ---------------------------------------------------------------------------------
    def add(self, step: int | None = None, **tracked: Any) -> str:
        """Save a checkpoint of everything, with ``tracked`` values recorded in the index.

        Args:
            step: the training step (an int >= 0; None: the previous checkpoint's + 1, or 1).
            **tracked: values to record with it: numbers, strings, bools, None, and lists
                and dicts of them (use ``loss.item()``, not the tensor).

        Returns:
            The new checkpoint's name.
        """
        if step is not None and (
            isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0
        ):
            raise ValueError(f"Checkpoint.add: step must be an int >= 0 or None, got {step!r}")
        if "datetime" in tracked:
            raise ValueError(
                "Checkpoint.add: 'datetime' is recorded by the Checkpoint itself; use another name"
            )
        tracked = {key: _plain(value, f"Checkpoint.add: {key}") for key, value in tracked.items()}
        sessions = self._read_index()
        records = sessions.get(self.session, {})
        last = list(records.values())[-1]["step"] if records else 0
        step = last + 1 if step is None else int(step)
        arrays, state = self._state()
        state.update(step=step, tracked=_encode(tracked, arrays, "tracked"))

        number = max((int(_CHECKPOINT.fullmatch(name)[1]) for name in records), default=0) + 1
        name = f"{number:06d}-{secrets.token_hex(4)}"  # the random part: never the name of a leftover
        directory = os.path.join(self.dirpath, self.session)
        if not os.path.isdir(directory):
            os.makedirs(directory, exist_ok=True)
            _fsync_directory(self.dirpath)
        path = os.path.join(directory, name + ".safetensors")
        metadata = {"format": _FORMAT, "version": str(_VERSION), "state": json.dumps(state, allow_nan=False)}
        save(arrays, path, metadata=metadata)

        records[name] = {
            "step": step,
            "datetime": datetime.datetime.now().isoformat(),
            "tracked": tracked,
            "sha256": _sha256(path),
        }
        while self.keep is not None and len(records) > self.keep:
            del records[next(iter(records))]
        sessions[self.session] = records
        self._write_index(sessions)
        self._remove_unlisted(directory, records)
        return name

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything to save: the arrays by key, and the JSON structure that refers to them."""
        arrays: dict[str, np.ndarray] = {}
        model_state = self.model.state_dict()
        for key, tensor in model_state.items():
            arrays["model/" + key] = backend.to_numpy(tensor.data)  # (from a GPU: to the host)
        state = {
            "model": list(model_state),
            "optimizer": None
            if self.optimizer is None
            else _encode(self.optimizer.state_dict(), arrays, "optimizer"),
            "scheduler": None
            if self.scheduler is None
            else _encode(self.scheduler.state_dict(), arrays, "scheduler"),
            "rng": {
                "neograd": _encode(get_rng_state(), arrays, "rng"),
                "numpy": _encode(np.random.get_state(), arrays, "rng"),
            },
        }
        return arrays, state

    # ---- loading --------------------------------------------------------------------------------
    def resume(self) -> dict[str, Any] | None:
        """Load the current session's newest checkpoint into the model, optimizer and scheduler,
        and restore the random states.

        Returns:
            Its tracked values, with its ``step`` and ``datetime``; None if the session has
            no checkpoint yet (start from scratch).
        """
        records = self._read_index().get(self.session, {})
        if not records:
            return None
        return self.load(list(records)[-1])

    def load(self, name: str, load_params: bool = True) -> dict[str, Any]:
        """Load the current session's checkpoint ``name`` (as ``resume`` does for the newest).

        All or nothing: the file is checked against the index's SHA-256, and every part is
        checked against the model, optimizer and scheduler before any of them changes; a
        refused checkpoint raises a ValueError or RuntimeError saying what is wrong and leaves
        everything as it was (model, optimizer, scheduler and random states). The optimizer
        or scheduler state of a checkpoint is ignored when this Checkpoint has none; NaN
        is refused in the scheduler's state and the optimizer's hyperparameters and counts,
        not in weights or moments, which load as they are (as torch's load_state_dict).

        Args:
            name: a checkpoint name, as ``add`` returned it (see ``records``).
            load_params: False to only return the tracked values.

        Returns:
            Its tracked values, with its ``step`` and ``datetime``.
        """
        records = self._read_index().get(self.session, {})
        if name not in records:
            raise ValueError(
                f"Checkpoint.load: no checkpoint {name!r} in session {self.session!r}; "
                f"it has {list(records)} (use specify_session for another session)"
            )
        record = records[name]
        if load_params:
            path = os.path.join(self.dirpath, self.session, name + ".safetensors")
            self._apply(_read_checkpoint(path, record["sha256"]), path)
        return {**record["tracked"], "step": record["step"], "datetime": record["datetime"]}

    def _apply(self, parts: dict[str, Any], path: str) -> None:
        """Check every part against what it is loaded into, then load all of them (or none)."""
        where = f"Checkpoint: {path}"
        optimizer_state, scheduler_state = parts["optimizer"], parts["scheduler"]
        if self.optimizer is not None:
            if optimizer_state is None:
                raise ValueError(f"{where} holds no optimizer state, but this Checkpoint has an optimizer")
            _check_optimizer_arrays(self.optimizer, optimizer_state, where)
        if self.scheduler is not None:
            if scheduler_state is None:
                raise ValueError(f"{where} holds no scheduler state, but this Checkpoint has a scheduler")
            scheduler_state = _conform(scheduler_state, self.scheduler.state_dict(), f"{where}: scheduler")
        neograd_rng, numpy_rng = _check_rng(parts["rng"], where)

        backup = (
            {k: v.data.copy() for k, v in self.model.state_dict().items()},
            None if self.optimizer is None else self.optimizer.state_dict(),
            None if self.scheduler is None else self.scheduler.state_dict(),
        )
        try:
            self.model.load_state_dict(parts["model"])
            if self.optimizer is not None:
                self.optimizer.load_state_dict(optimizer_state)
            if self.scheduler is not None:
                self.scheduler.load_state_dict(scheduler_state)
        except BaseException:
            self.model.load_state_dict(backup[0])
            if self.optimizer is not None:
                self.optimizer.load_state_dict(backup[1])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(backup[2])
            raise
        set_rng_state(neograd_rng)
        np.random.set_state(numpy_rng)

    # ---- the index ------------------------------------------------------------------------------
    def _read_index(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The sessions of the index, checked (an empty dict if there is no index yet)."""
        path = os.path.join(self.dirpath, _INDEX)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return {}

        def bad(message: str) -> ValueError:
            return ValueError(f"Checkpoint: {path} is not a valid checkpoint index: {message}")

        try:
            index = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise bad(f"not well-formed JSON ({e})") from None
        if not isinstance(index, dict) or index.get("format") != _FORMAT + ".index":
            raise bad("it does not say it is one (written by another program?)")
        if not isinstance(index.get("version"), int) or index["version"] > _VERSION:
            raise bad(f"version {index.get('version')!r}; this neograd reads versions up to {_VERSION}")
        sessions = index.get("sessions")
        if not isinstance(sessions, dict):
            raise bad("'sessions' must be an object")
        for session, records in sessions.items():
            if not _SESSION.fullmatch(session) or not isinstance(records, dict):
                raise bad(f"invalid session {session!r}")
            for name, record in records.items():
                if (
                    not _CHECKPOINT.fullmatch(name)
                    or not isinstance(record, dict)
                    or set(record) != {"step", "datetime", "tracked", "sha256"}
                    or not _is_count(record["step"])
                    or not isinstance(record["datetime"], str)
                    or not isinstance(record["tracked"], dict)
                    or not isinstance(record["sha256"], str)
                ):
                    raise bad(f"invalid record {name!r} in session {session!r}")
                record["tracked"] = _decode(record["tracked"], {}, set(), bad)
        return sessions

    def _write_index(self, sessions: dict[str, Any]) -> None:
        sessions = {
            session: {
                name: {**r, "tracked": _encode(r["tracked"], {}, "tracked")} for name, r in records.items()
            }
            for session, records in sessions.items()
        }
        index = {"format": _FORMAT + ".index", "version": _VERSION, "sessions": sessions}
        with atomic_write(os.path.join(self.dirpath, _INDEX)) as f:
            f.write(json.dumps(index, indent=1, allow_nan=False).encode("utf-8"))

    def _remove_unlisted(self, directory: str, records: Mapping[str, Any]) -> None:
        """Delete pruned checkpoints and leftovers of interrupted saves (the index no longer lists them)."""
        for entry in os.listdir(directory):
            stem, extension = os.path.splitext(entry)
            leftover = entry.startswith(".") and extension == ".tmp"  # an atomic_write cut short
            if leftover or (extension == ".safetensors" and stem not in records):
                os.unlink(os.path.join(directory, entry))

    def __repr__(self) -> str:
        return f"Checkpoint(dirpath={self.dirpath!r}, session={self.session!r}, keep={self.keep!r})"


# ---- reading one checkpoint file ---------------------------------------------------------------
def _read_checkpoint(path: str, sha256: str) -> dict[str, Any]:
    """The parts of a checkpoint file, after checking the file against its index entry and itself."""

    def bad(message: str) -> ValueError:
        return ValueError(f"Checkpoint: {path} is not a valid checkpoint: {message}")

    if not os.path.isfile(path):
        raise bad("the index lists it, but the file is missing")
    if _sha256(path) != sha256:
        raise bad("its SHA-256 differs from the one recorded in the index (modified or corrupted)")
    metadata = load_metadata(path)
    if metadata.get("format") != _FORMAT or "state" not in metadata:
        raise bad("its header does not say it is a neograd checkpoint")
    if metadata.get("version") not in [str(v) for v in range(1, _VERSION + 1)]:
        raise bad(f"format version {metadata.get('version')!r}; this neograd reads versions up to {_VERSION}")
    tensors = load(path)
    try:
        state = json.loads(metadata["state"], parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:
        raise bad(f"its state is not well-formed JSON ({e})") from None
    if not isinstance(state, dict) or set(state) != {
        "model",
        "optimizer",
        "scheduler",
        "rng",
        "step",
        "tracked",
    }:
        raise bad("its state must have exactly model, optimizer, scheduler, rng, step and tracked")
    if not isinstance(state["model"], list) or not all(isinstance(k, str) for k in state["model"]):
        raise bad("its list of model tensors is malformed")
    arrays = {key: t.data for key, t in tensors.items()}
    used: set[str] = set()
    model = {}
    for key in state["model"]:
        model[key] = _take(arrays, used, "model/" + key, bad)
    try:
        parts = {
            "model": model,
            "optimizer": _decode(state["optimizer"], arrays, used, bad),
            "scheduler": _decode(state["scheduler"], arrays, used, bad),
            "rng": _decode(state["rng"], arrays, used, bad),
        }
    except RecursionError:
        raise bad("its state is nested too deeply") from None
    unused = sorted(set(arrays) - used)
    if unused:
        raise bad(f"it holds tensors that nothing refers to: {unused[:5]}")
    return parts


def _take(arrays: dict[str, np.ndarray], used: set[str], key: Any, bad: Any) -> np.ndarray:
    if not isinstance(key, str) or key not in arrays:
        raise bad(f"it refers to a tensor {key!r} that it does not hold")
    if key in used:
        raise bad(f"it refers to the tensor {key!r} twice")
    used.add(key)
    return arrays[key]


# ---- the JSON encoding of state_dicts ------------------------------------------------------------
# JSON has no arrays, tuples, non-string keys or non-finite numbers, so those are written as
# one-key objects whose key is a tag: {"__array__": "optimizer/0"} refers to a tensor of the
# file, {"__tuple__": [...]}, {"__dict__": [[key, value], ...]}, {"__float__": "inf"}. A plain
# JSON object therefore never has a key starting with "__".
def _encode(value: Any, arrays: dict[str, np.ndarray], prefix: str, where: str = "") -> Any:
    where = where or prefix
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, np.generic):
        return int(value)
    if isinstance(value, float) and not isinstance(value, np.generic):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, (np.ndarray, np.generic, Tensor)) or backend.is_device_array(value):
        key = f"{prefix}/{len(arrays)}"
        array = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Checkpoint.add: {where} has dtype {array.dtype}, which cannot be saved")
        arrays[key] = array
        tag = (
            "__tensor__"
            if isinstance(value, Tensor)
            else "__scalar__"
            if isinstance(value, np.generic)
            else "__array__"
        )
        return {tag: key}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, prefix, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, arrays, prefix, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        items = [(k, _encode(v, arrays, prefix, f"{where}[{k!r}]")) for k, v in value.items()]
        if isinstance(value, collections.Counter):
            return {"__counter__": [[_encode(k, arrays, prefix, where), v] for k, v in items]}
        if all(isinstance(k, str) and not k.startswith("__") for k, _ in items):
            return dict(items)
        return {"__dict__": [[_encode(k, arrays, prefix, where), v] for k, v in items]}
    raise TypeError(
        f"Checkpoint.add: {where} is a {type(value).__name__}, which a checkpoint cannot hold "
        "(only numbers, strings, None, arrays, and lists, tuples and dicts of them)"
    )


def _decode(value: Any, arrays: dict[str, np.ndarray], used: set[str], bad: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, arrays, used, bad) for v in value]
    if not isinstance(value, dict):
        raise bad(f"unexpected JSON value {value!r}")
    tags = [k for k in value if k.startswith("__")]
    if not tags:
        return {k: _decode(v, arrays, used, bad) for k, v in value.items()}
    (tag, content) = next(iter(value.items()))
    if len(value) != 1 or tag not in _TAGS:
        raise bad(f"unknown tagged value {sorted(value)}")
    if tag in ("__array__", "__scalar__", "__tensor__"):
        array = _take(arrays, used, content, bad)
        return array[()] if tag == "__scalar__" else Tensor._make(array) if tag == "__tensor__" else array
    if tag == "__float__":
        if content not in ("inf", "-inf", "nan"):
            raise bad(f"unknown special float {content!r}")
        return float(content)
    if not isinstance(content, list):
        raise bad(f"{tag} must hold a list")
    if tag == "__tuple__":
        return tuple(_decode(v, arrays, used, bad) for v in content)
    pairs = []
    for pair in content:
        if not isinstance(pair, list) or len(pair) != 2:
            raise bad(f"{tag} must hold [key, value] pairs")
        key = _decode(pair[0], arrays, used, bad)
        if not isinstance(key, (int, float, str, bool, tuple)) and key is not None:
            raise bad(f"unhashable key {key!r}")
        pairs.append((key, _decode(pair[1], arrays, used, bad)))
    return collections.Counter(dict(pairs)) if tag == "__counter__" else dict(pairs)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# ---- checks against what a checkpoint is loaded into ---------------------------------------------
def _check_optimizer_arrays(optimizer: Any, state: Any, where: str) -> None:
    """Every array of the optimizer's state has its parameter's dtype (the optimizer checks the rest)."""
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict):
        raise ValueError(f"{where}: the optimizer state is malformed")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, saved in state["state"].items():
        if not isinstance(i, int) or not 0 <= i < len(params) or not isinstance(saved, dict):
            raise ValueError(
                f"{where}: the optimizer state refers to parameter {i!r}, which it does not have"
            )
        for key, value in saved.items():
            if isinstance(value, np.ndarray) and value.dtype != params[i].dtype:
                raise ValueError(
                    f"{where}: the optimizer state {key!r} of parameter {i} has dtype {value.dtype}, "
                    f"the parameter {params[i].dtype}"
                )


def _conform(saved: Any, current: Any, where: str) -> Any:
    """``saved`` checked against ``current``, the value in the same place now: same kind, no NaN.

    A Counter (a scheduler's milestones) gets its type back, which JSON does not keep.
    """
    if current is not None and not _same_kind(saved, current):
        raise ValueError(f"{where}: the checkpoint holds {saved!r}, expected a {type(current).__name__}")
    if isinstance(saved, float) and math.isnan(saved):
        raise ValueError(f"{where}: the checkpoint holds NaN")
    if isinstance(saved, dict):
        get = current.get if isinstance(current, dict) else lambda key: None
        items = {k: _conform(v, get(k), f"{where}[{k!r}]") for k, v in saved.items()}
        return collections.Counter(items) if isinstance(current, collections.Counter) else items
    if isinstance(saved, (list, tuple)):
        same = isinstance(current, (list, tuple)) and len(current) == len(saved)
        return type(saved)(
            _conform(v, current[i] if same else None, f"{where}[{i}]") for i, v in enumerate(saved)
        )
    return saved


def _same_kind(saved: Any, current: Any) -> bool:
    """Whether a loaded value can stand where ``current`` stands now."""
    if isinstance(current, bool):
        return isinstance(saved, bool)
    if isinstance(current, numbers.Integral):
        return isinstance(saved, numbers.Integral) and not isinstance(saved, bool)
    if isinstance(current, numbers.Real):
        return isinstance(saved, numbers.Real) and not isinstance(saved, bool)
    for kind in (str, (list, tuple), dict, np.ndarray):
        if isinstance(current, kind):
            return isinstance(saved, kind)
    return True


def _check_rng(rng: Any, where: str) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The two random states, tried on throwaway generators (NumPy validates them)."""
    if not isinstance(rng, dict) or set(rng) != {"neograd", "numpy"}:
        raise ValueError(f"{where}: the random states are malformed")
    neograd_rng, numpy_rng = rng["neograd"], rng["numpy"]
    try:
        check_rng_state(neograd_rng)
        if (
            not isinstance(numpy_rng, tuple)
            or len(numpy_rng) != 5
            or not isinstance(numpy_rng[1], np.ndarray)
            or numpy_rng[1].dtype != np.uint32
            or not math.isfinite(numpy_rng[4])
        ):
            raise ValueError("not an MT19937 state")
        np.random.RandomState().set_state(numpy_rng)
    except Exception as e:  # NumPy raises TypeError, ValueError, KeyError, IndexError... on bad states
        raise ValueError(f"{where}: invalid random state ({type(e).__name__}: {e})") from None
    return neograd_rng, numpy_rng


# ---- small helpers ------------------------------------------------------------------------------
def _plain(value: Any, where: str) -> Any:
    """A tracked value as plain JSON data (NumPy scalars become Python numbers)."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be strings, got {k!r}")
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    hint = " (use .item() or .tolist())" if isinstance(value, (Tensor, np.ndarray)) else ""
    raise TypeError(
        f"{where}: only numbers, strings, bools, None, lists and dicts can be tracked, "
        f"got {type(value).__name__}{hint}"
    )


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
