"""save/load: round trips in both formats, the safetensors layout byte by byte, atomic writes."""

import json
import os
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from neograd.autograd import Tensor, tensor
from neograd.nn import Module, Parameter, load, save
from neograd.nn.serialization import atomic_write, load_metadata

DTYPES = [
    np.bool_,
    np.uint8,
    np.int8,
    np.int16,
    np.uint16,
    np.int32,
    np.uint32,
    np.int64,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
]
FORMATS = ["safetensors", "npz"]


def sample_arrays():
    rng = np.random.default_rng(0)
    arrays = {}
    for i, dtype in enumerate(DTYPES):
        shape = [(2, 3), (4,), (), (1, 0, 2)][i % 4]
        arrays[f"layer{i}.{np.dtype(dtype).name}"] = (rng.standard_normal(shape) * 100).astype(dtype)
    return arrays


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_names_order_values_shapes_and_dtypes(tmp_path, fmt):
    arrays = sample_arrays()
    path = tmp_path / f"weights.{fmt}"
    save({k: tensor(v) for k, v in arrays.items()}, path)
    out = load(path)
    assert list(out) == list(arrays)
    for name, expected in arrays.items():
        got = out[name]
        assert isinstance(got, Tensor) and not got.requires_grad
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        np.testing.assert_array_equal(got.data, expected)
        assert got.data.flags.writeable


@pytest.mark.parametrize("fmt", FORMATS)
def test_ndarrays_parameters_and_noncontiguous_values_are_saved(tmp_path, fmt):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    state = {"p": Parameter(base.copy()), "view": base[:, ::2], "t": base.T, "be": base.astype(">f8")}
    path = tmp_path / f"w.{fmt}"
    save(state, path)
    out = load(path)
    np.testing.assert_array_equal(out["p"].data, base)
    np.testing.assert_array_equal(out["view"].data, base[:, ::2])
    np.testing.assert_array_equal(out["t"].data, base.T)
    # a big-endian array comes back in the machine's byte order with the same values
    assert out["be"].dtype == np.float64 and out["be"].dtype.isnative
    np.testing.assert_array_equal(out["be"].data, base)


def test_safetensors_layout_byte_by_byte(tmp_path):
    """Parse the written file by hand, following the published format."""
    a = np.array([[1.5, -2.0]], np.float32)
    b = np.array([7], np.int64)
    c = np.array([True, False, True])
    path = tmp_path / "w.safetensors"
    save({"a": a, "b": b, "c": c}, path, metadata={"format": "pt"})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, "the header is padded so that the data starts 8-byte aligned"
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    assert header.pop("__metadata__") == {"format": "pt"}
    assert list(header) == ["a", "b", "c"]
    assert header["a"]["dtype"] == "F32" and header["a"]["shape"] == [1, 2]
    assert header["b"]["dtype"] == "I64" and header["b"]["shape"] == [1]
    assert header["c"]["dtype"] == "BOOL" and header["c"]["shape"] == [3]
    for name, array, little in [("a", a, "<f4"), ("b", b, "<i8"), ("c", c, "|b1")]:
        begin, end = header[name]["data_offsets"]
        assert data[begin:end] == array.astype(little).tobytes()
        assert begin % array.itemsize == 0, "each tensor starts at a multiple of its item size"
    spans = sorted(tuple(h["data_offsets"]) for h in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(x[1] == y[0] for x, y in zip(spans, spans[1:])), "no gaps, no overlaps"


def handmade_safetensors(entries, metadata=None, pad=0):
    """A file built from the spec: entries are (name, dtype, shape, raw bytes), data in reverse order."""
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in reversed(entries):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def test_a_handmade_file_loads(tmp_path):
    path = tmp_path / "hand.safetensors"
    path.write_bytes(
        handmade_safetensors(
            [
                ("w", "F64", [2], struct.pack("<2d", 0.25, -8.0)),
                ("i", "I32", [1, 2], struct.pack("<2i", -3, 5)),
                ("half", "F16", [1], np.array([0.5], "<f2").tobytes()),
                ("empty", "F32", [0, 3], b""),
                ("scalar", "U8", [], b"\x09"),
            ],
            metadata={"who": "me"},
            pad=5,
        )
    )
    out = load(path)
    np.testing.assert_array_equal(out["w"].data, [0.25, -8.0])
    np.testing.assert_array_equal(out["i"].data, [[-3, 5]])
    assert out["i"].dtype == np.int32 and out["half"].dtype == np.float16 and out["half"].item() == 0.5
    assert out["empty"].shape == (0, 3) and out["scalar"].shape == () and out["scalar"].item() == 9
    assert load_metadata(path) == {"who": "me"}


def test_bf16_loads_as_float32(tmp_path):
    values = np.array([1.5, -2.0, 3.140625, 0.0], np.float32)
    upper_halves = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(handmade_safetensors([("x", "BF16", [2, 2], upper_halves)]))
    out = load(path)["x"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, values.reshape(2, 2))


def test_metadata_is_optional_and_only_for_safetensors(tmp_path):
    save({"a": np.zeros(1)}, tmp_path / "a.safetensors")
    assert load_metadata(tmp_path / "a.safetensors") == {}
    with pytest.raises(ValueError, match="metadata"):
        save({"a": np.zeros(1)}, tmp_path / "a.npz", metadata={"v": "1"})
    with pytest.raises(TypeError, match="metadata"):
        save({"a": np.zeros(1)}, tmp_path / "b.safetensors", metadata={"v": 1})
    assert not (tmp_path / "a.npz").exists() and not (tmp_path / "b.safetensors").exists()


def test_format_from_extension_or_argument(tmp_path):
    state = {"x": np.arange(3.0)}
    save(state, tmp_path / "a.npz")
    save(state, tmp_path / "a.safetensors")
    save(state, tmp_path / "a.bin")  # unknown extension: safetensors, the default
    save(state, tmp_path / "b.bin", format="npz")
    assert zipfile.is_zipfile(tmp_path / "a.npz") and zipfile.is_zipfile(tmp_path / "b.bin")
    assert not zipfile.is_zipfile(tmp_path / "a.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "a.bin").read_bytes()
    np.testing.assert_array_equal(load(tmp_path / "b.bin", format="npz")["x"].data, [0, 1, 2])
    np.testing.assert_array_equal(load(str(tmp_path / "a.bin"))["x"].data, [0, 1, 2])
    with pytest.raises(ValueError, match="format must be one of"):
        save(state, tmp_path / "c.pt", format="pickle")
    with pytest.raises(ValueError, match="format must be one of"):
        load(tmp_path / "a.npz", format="torch")
    assert not (tmp_path / "c.pt").exists()


def test_npz_interoperates_with_numpy(tmp_path):
    # np.load reads ours, without allow_pickle
    save({"file": np.arange(4), "allow_pickle": np.ones(2, np.float32)}, tmp_path / "ours.npz")
    with np.load(tmp_path / "ours.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["file"], np.arange(4))
        assert npz["allow_pickle"].dtype == np.float32
    # ours reads np.savez and np.savez_compressed
    np.savez(tmp_path / "plain.npz", w=np.eye(2), n=np.int64(3))
    np.savez_compressed(tmp_path / "packed.npz", w=np.eye(3, dtype=np.float32))
    plain, packed = load(tmp_path / "plain.npz"), load(tmp_path / "packed.npz")
    np.testing.assert_array_equal(plain["w"].data, np.eye(2))
    assert plain["n"].shape == () and plain["n"].item() == 3
    np.testing.assert_array_equal(packed["w"].data, np.eye(3))


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_state_dict(tmp_path, fmt):
    save({}, tmp_path / f"e.{fmt}")
    assert load(tmp_path / f"e.{fmt}") == {}


class Tiny(Module):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(np.arange(6, dtype=np.float32).reshape(2, 3))
        self.register_buffer("steps", tensor(5))


def test_bad_arguments_to_save_change_no_file(tmp_path):
    path = tmp_path / "w.safetensors"
    save({"old": np.ones(2)}, path)
    before = path.read_bytes()
    cases = [
        (TypeError, "state_dict\\(\\)", Tiny()),
        (TypeError, "dict of name", [np.ones(2)]),
        (TypeError, "names must be strings", {1: np.ones(2)}),
        (ValueError, "__metadata__", {"__metadata__": np.ones(2)}),
        (TypeError, "must be a Tensor or ndarray", {"x": [1.0, 2.0]}),
        (TypeError, "dtype object", {"x": np.array([None])}),
        (TypeError, "dtype complex128", {"x": np.ones(2, complex)}),
    ]
    for error, message, state in cases:
        with pytest.raises(error, match=message):
            save(state, path)
        assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors"], "no temporary file is left behind"


def test_model_round_trip(tmp_path):
    model, other = Tiny(), Tiny()
    with_grad = model.weight
    with_grad.data += 1
    model.steps.data[...] = 42
    save(model.state_dict(), tmp_path / "m.safetensors")
    result = other.load_state_dict(load(tmp_path / "m.safetensors"))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(other.weight.data, model.weight.data)
    assert other.steps.item() == 42
    assert other.weight.requires_grad and isinstance(other.weight, Parameter)


# ---- atomic writes ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failure_mid_save_leaves_the_previous_file(tmp_path, monkeypatch, fmt, failing):
    path = tmp_path / f"w.{fmt}"
    save({"x": np.zeros(1000)}, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="disk on fire"):
        save({"x": np.ones(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name], "the temporary file was removed"
    np.testing.assert_array_equal(load(path)["x"].data, np.zeros(1000))


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "index.json"
    path.write_bytes(b"old")
    with pytest.raises(KeyError):
        with atomic_write(path) as f:
            f.write(b"half")
            raise KeyError("crash")
    assert path.read_bytes() == b"old"
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["index.json"]


def test_atomic_write_replaces_a_symlinks_target(tmp_path):
    target = tmp_path / "real.safetensors"
    save({"x": np.zeros(2)}, target)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    save({"x": np.ones(2)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(load(target)["x"].data, np.ones(2))


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from neograd.nn import save
    path, fmt = sys.argv[1], sys.argv[2]
    version = 1
    while True:
        state = {"a": np.full(300_000, version, np.float64), "b": np.full(7, version, np.int32)}
        save(state, path, format=fmt)
        version += 1
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_killing_the_writer_at_any_moment_leaves_a_complete_file(tmp_path, fmt):
    path = tmp_path / "w.bin"
    save({"a": np.full(300_000, 0, np.float64), "b": np.full(7, 0, np.int32)}, path, format=fmt)
    rng = np.random.default_rng(0)
    versions = []
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), fmt])
        time.sleep(0.8 + rng.uniform(0, 0.4))
        proc.kill()  # SIGKILL: no cleanup runs
        proc.wait()
        out = load(path, format=fmt)
        version = out["a"].data[0]
        assert (out["a"].data == version).all() and (out["b"].data == version).all()
        versions.append(version)
    assert max(versions) > 0, "the writer got to replace the file"
