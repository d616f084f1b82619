"""Loading refuses crafted and broken files, never unpickles, and leaves the model as it was."""

import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from neograd.autograd import tensor
from neograd.nn import Module, Parameter, load, save


class Payload:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def assert_payload_is_live(path, marker):
    """Prove the test's payload really runs code when unpickled (so its absence above means something)."""
    with open(path, "rb") as f:
        pickle.load(f)
    assert os.path.exists(marker)


@pytest.mark.parametrize("name", ["model.safetensors", "model.npz", "model.bin"])
def test_a_pickle_is_refused_without_running_it(tmp_path, name):
    marker = tmp_path / "pwned"
    path = tmp_path / name
    with open(path, "wb") as f:
        pickle.dump({"weight": Payload(marker)}, f)
    with pytest.raises(ValueError, match="pickle"):
        load(path)
    assert not marker.exists()
    assert_payload_is_live(path, marker)


def test_an_npz_holding_a_pickled_object_array_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    objects = np.empty(1, dtype=object)
    objects[0] = Payload(marker)
    np.savez(path, weight=np.ones(3), evil=objects)  # np.savez pickles object arrays
    with pytest.raises(ValueError, match="never unpickles"):
        load(path)
    assert not marker.exists()
    with pytest.raises(ValueError, match="never unpickles"):
        load(path, format="npz")
    assert not marker.exists()


def test_a_single_npy_of_objects_under_an_npz_name_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    objects = np.empty(1, dtype=object)
    objects[0] = Payload(marker)
    with open(path, "wb") as f:
        np.save(f, objects, allow_pickle=True)
    with pytest.raises(ValueError, match=r"single \.npy"):
        load(path)
    assert not marker.exists()


def test_a_torch_save_style_zip_under_a_safetensors_name_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    with zipfile.ZipFile(path, "w") as z:  # torch.save's layout: a zip with data.pkl inside
        z.writestr("archive/data.pkl", pickle.dumps(Payload(marker)))
    with pytest.raises(ValueError, match="zip archive"):
        load(path)
    assert not marker.exists()


# ---- broken and lying safetensors files -----------------------------------------------------
def st_file(header, data=b"", raw_header=None):
    text = json.dumps(header).encode() if raw_header is None else raw_header
    return struct.pack("<Q", len(text)) + text + data


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


GOOD_DATA = struct.pack("<2f", 1.0, 2.0)
CRAFTED = {
    "empty file": (b"", "fewer than the 8"),
    "seven bytes": (b"\x10\x00\x00\x00\x00\x00\x00", "fewer than the 8"),
    "header longer than the file": (struct.pack("<Q", 1000) + b"{}", "exceeds the 2 bytes"),
    "header over 100 MB": (struct.pack("<Q", 2**63) + b"{}", "exceeds"),
    "not JSON": (st_file(None, raw_header=b"{nope"), "well-formed JSON"),
    "not an object": (st_file(None, raw_header=b"[1, 2]"), "not a JSON object"),
    "not UTF-8": (st_file(None, raw_header=b'{"\xff": 1}'), "well-formed JSON"),
    "NaN in JSON": (st_file(None, raw_header=b'{"a": NaN}'), "well-formed JSON"),
    "deep nesting": (st_file(None, raw_header=b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "JSON"),
    "duplicate names": (
        st_file(
            None,
            GOOD_DATA * 2,
            raw_header=(
                b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
                b' "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}'
            ),
        ),
        "appears twice",
    ),
    "unknown dtype": (st_file({"w": entry(dtype="F8_E4M3", shape=(8,))}, GOOD_DATA), "dtype 'F8_E4M3'"),
    "made-up dtype": (st_file({"w": entry(dtype="PICKLE")}, GOOD_DATA), "dtype 'PICKLE'"),
    "missing field": (st_file({"w": {"dtype": "F32", "shape": [2]}}, GOOD_DATA), "exactly the fields"),
    "extra field": (st_file({"w": {**entry(), "code": "x"}}, GOOD_DATA), "exactly the fields"),
    "entry not an object": (st_file({"w": [1, 2]}, GOOD_DATA), "exactly the fields"),
    "negative dim": (st_file({"w": entry(shape=(-2,))}, GOOD_DATA), "non-negative integers"),
    "float dim": (st_file({"w": entry(shape=(2.0,))}, GOOD_DATA), "non-negative integers"),
    "bool dim": (st_file({"w": entry(shape=(True, 2))}, GOOD_DATA), "non-negative integers"),
    "shape not a list": (st_file({"w": {**entry(), "shape": 2}}, GOOD_DATA), "non-negative integers"),
    "three offsets": (st_file({"w": entry(offsets=(0, 4, 8))}, GOOD_DATA), "two non-negative"),
    "negative offset": (st_file({"w": entry(offsets=(-8, 0))}, GOOD_DATA), "two non-negative"),
    "shape lies (bigger)": (st_file({"w": entry(shape=(1000, 1000))}, GOOD_DATA), "needs 4000000 bytes"),
    "shape lies (smaller)": (st_file({"w": entry(shape=(1,))}, GOOD_DATA), "needs 4 bytes"),
    "dtype lies": (st_file({"w": entry(dtype="F64")}, GOOD_DATA), "needs 16 bytes"),
    "offsets backwards": (st_file({"w": entry(offsets=(8, 0))}, GOOD_DATA), "needs 8 bytes"),
    "offsets past the end": (st_file({"w": entry(offsets=(8, 16))}, GOOD_DATA), "starts at byte 8"),
    "huge empty shape": (st_file({"w": entry(shape=(0, 2**62), offsets=(0, 0))}), "too large"),
    "huge offsets": (st_file({"w": entry(shape=(2**60,), offsets=(0, 2**62))}, GOOD_DATA), "data"),
    "overlap": (
        st_file({"a": entry(), "b": entry(offsets=(4, 12))}, GOOD_DATA + b"\0" * 4),
        "overlaps",
    ),
    "gap": (st_file({"a": entry(offsets=(4, 12))}, b"\0" * 4 + GOOD_DATA), "gap"),
    "trailing bytes": (st_file({"w": entry()}, GOOD_DATA + b"evil"), "no tensor accounts for"),
    "truncated data": (st_file({"w": entry()}, GOOD_DATA[:5]), "ends early"),
    "metadata not strings": (st_file({"__metadata__": {"v": 1}, "w": entry()}, GOOD_DATA), "__metadata__"),
    "metadata not a dict": (st_file({"__metadata__": [1], "w": entry()}, GOOD_DATA), "__metadata__"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_safetensors_files_are_refused(tmp_path, case):
    raw, message = CRAFTED[case]
    path = tmp_path / "w.safetensors"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message) as info:
        load(path)
    assert "w.safetensors" in str(info.value), "the error names the file"


def test_the_crafted_cases_differ_from_a_good_file_only_where_they_say(tmp_path):
    # the same helper, with nothing wrong, gives a loadable file: the refusals above are real
    path = tmp_path / "ok.safetensors"
    path.write_bytes(st_file({"w": entry()}, GOOD_DATA))
    np.testing.assert_array_equal(load(path)["w"].data, [1.0, 2.0])


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_every_truncation_is_refused(tmp_path, fmt):
    path = tmp_path / f"w.{fmt}"
    save({"a": np.arange(6, dtype=np.float32), "b": np.array([1, 2], np.int64)}, path)
    raw = path.read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    for n in range(len(raw)):
        cut.write_bytes(raw[:n])
        with pytest.raises(ValueError):
            load(cut)


# ---- broken and lying npz files -------------------------------------------------------------------
def npy_bytes(array, shape=None, descr=None):
    """An .npy file, optionally with a header that lies about the shape or dtype."""
    buffer = io.BytesIO()
    header = {
        "descr": descr or np.lib.format.dtype_to_descr(array.dtype),
        "fortran_order": False,
        "shape": array.shape if shape is None else shape,
    }
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + array.tobytes()


def npz_file(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, raw in members:
            z.writestr(name, raw)


GOOD_NPY = npy_bytes(np.arange(4.0))
CRAFTED_NPZ = {
    "shape lies (huge)": (
        [("w.npy", npy_bytes(np.arange(4.0), shape=(10**12,)))],
        "needs 8000000000000 bytes",
    ),
    "huge empty shape": ([("w.npy", npy_bytes(np.zeros(0), shape=(0, 2**62)))], "too large"),
    "shape lies (small)": ([("w.npy", npy_bytes(np.arange(4.0), shape=(2,)))], "needs 16 bytes"),
    "dtype lies": ([("w.npy", npy_bytes(np.arange(4.0), descr="<c16"))], "dtype complex128"),
    "structured dtype": ([("w.npy", npy_bytes(np.zeros(2, "i4,f4")))], "does not support"),
    "strings": ([("w.npy", npy_bytes(np.array(["ab", "cd"])))], "does not support"),
    "garbage header": ([("w.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': os.system}    \n")], "malformed"),
    "not npy": ([("w.npy", b"hello")], "malformed"),
    "not an .npy member": ([("w.npy", GOOD_NPY), ("run.py", b"print(1)")], "not an .npy array"),
    "duplicate names": ([("w.npy", GOOD_NPY), ("w.npy", GOOD_NPY)], "appears twice"),
    "unsupported npy version": ([("w.npy", b"\x93NUMPY\x03\x00" + GOOD_NPY[8:])], "malformed"),
}


@pytest.mark.parametrize("case", list(CRAFTED_NPZ))
def test_crafted_npz_files_are_refused(tmp_path, case):
    members, message = CRAFTED_NPZ[case]
    path = tmp_path / "w.npz"
    with pytest.warns(UserWarning) if case == "duplicate names" else _nothing():
        npz_file(path, members)
    with pytest.raises(ValueError, match=message):
        load(path)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def test_the_npz_helper_makes_good_files(tmp_path):
    npz_file(tmp_path / "ok.npz", [("w.npy", GOOD_NPY)])
    np.testing.assert_array_equal(load(tmp_path / "ok.npz")["w"].data, np.arange(4.0))


def test_npz_with_corrupted_data_fails_its_checksum(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": np.arange(100.0)}, path)
    raw = bytearray(path.read_bytes())
    at = raw.index(np.arange(100.0).tobytes()[8:16])  # inside the data of w
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"CRC|BadZipFile"):
        load(path)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.safetensors")


# ---- the model is untouched by any refusal ----------------------------------------------------------
class Net(Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(1)
        self.weight = Parameter(rng.standard_normal((3, 4)).astype(np.float32))
        self.bias = Parameter(rng.standard_normal(3).astype(np.float32))
        self.register_buffer("running_mean", tensor(rng.standard_normal(3).astype(np.float32)))
        self.register_buffer("count", tensor(7))


def snapshot(model):
    return {k: (v.data.dtype, v.data.shape, v.data.tobytes()) for k, v in model.state_dict().items()}


def good_state():
    return {
        "weight": np.full((3, 4), 9, np.float32),
        "bias": np.full(3, 9, np.float32),
        "running_mean": np.full(3, 9, np.float32),
        "count": np.array(9),
    }


BAD_STATES = {
    "wrong shape on the last key": {**good_state(), "count": np.array([9])},
    "wrong shape on the first key": {**good_state(), "weight": np.full((4, 3), 9, np.float32)},
    "wrong dtype": {**good_state(), "bias": np.full(3, 9, np.float64)},
    "integer instead of float": {**good_state(), "running_mean": np.full(3, 9, np.int64)},
    "missing key": {k: v for k, v in good_state().items() if k != "running_mean"},
    "unexpected key": {**good_state(), "extra.weight": np.ones(2, np.float32)},
    "not an array": {**good_state(), "bias": [9.0, 9.0, 9.0]},
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_a_refused_state_dict_leaves_the_model_byte_equal(tmp_path, case):
    model = Net()
    before = snapshot(model)
    path = tmp_path / "bad.safetensors"
    state = BAD_STATES[case]
    if case == "not an array":
        with pytest.raises(RuntimeError):
            model.load_state_dict(state)
    else:
        save(state, path)
        with pytest.raises(RuntimeError):
            model.load_state_dict(load(path))
    assert snapshot(model) == before


def test_a_good_state_dict_does_change_the_model(tmp_path):
    # the counterpart of the test above: the same values, nothing wrong, are loaded
    model = Net()
    save(good_state(), tmp_path / "good.npz")
    model.load_state_dict(load(tmp_path / "good.npz"))
    assert all((v.data == 9).all() for v in model.state_dict().values())


def test_a_refused_file_leaves_the_model_byte_equal(tmp_path):
    model = Net()
    before = snapshot(model)
    path = tmp_path / "w.safetensors"
    save(model.state_dict(), path)
    raw = path.read_bytes()
    path.write_bytes(raw[:-3])
    with pytest.raises(ValueError):
        model.load_state_dict(load(path))
    assert snapshot(model) == before


def test_strict_false_loads_what_matches():
    model = Net()
    result = model.load_state_dict({"bias": np.zeros(3, np.float32), "other": np.ones(1)}, strict=False)
    assert result.missing_keys == ["weight", "running_mean", "count"] and result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(model.bias.data, np.zeros(3))


# ---- fuzzing: any corruption is either harmless or a ValueError -------------------------------------
@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_random_corruptions_load_or_raise_value_error(tmp_path, fmt):
    path = tmp_path / f"w.{fmt}"
    save({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64)}, path)
    original = path.read_bytes()
    rng = np.random.default_rng(0)
    refused = 0
    for _ in range(300):
        raw = bytearray(original)
        for at in rng.integers(0, len(raw), size=rng.integers(1, 4)):
            raw[at] = int(rng.integers(0, 256))
        path.write_bytes(bytes(raw))
        try:
            out = load(path)
        except ValueError:
            refused += 1
            continue
        assert all(v.dtype.kind in "biuf" for v in out.values())
    assert refused > 0
