"""Weights on disk: save and load state_dicts as safetensors (the default) or NumPy .npz, never pickle.

The safetensors layout (https://github.com/huggingface/safetensors), written and read here
with nothing but NumPy and the standard library::

    8 bytes   N, the length of the header (unsigned 64-bit, little-endian)
    N bytes   JSON: {"__metadata__": {str: str} (optional),
                     name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
              padded with spaces
    the rest  every tensor's raw little-endian bytes; offsets count from the end of the
              header, and the tensors cover the rest of the file exactly (no holes, no overlap)

Loading checks all of that before reading any data and refuses a truncated or crafted file
with a ValueError that says what is wrong. Saving writes a temporary file next to the target,
syncs it to disk and renames it over the target, so a crash mid-save leaves the previous
file as it was.

Example:
    >>> save(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(load("model.safetensors"))
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, Any

import numpy as np

from neograd.autograd import Tensor, backend

__all__ = ["save", "load", "load_metadata", "atomic_write"]

PathLike = str | os.PathLike

# safetensors' dtype names; multi-byte types are stored little-endian whatever the machine
_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
_NAMES = {(d.kind, d.itemsize): name for name, d in _DTYPES.items()}
_BF16 = "BF16"  # bfloat16, torch's half format: NumPy lacks it, so it loads as float32
_MAX_HEADER = 100_000_000  # the reference implementation's limit
_HEADER_FIELDS = {"dtype", "shape", "data_offsets"}
_FORMATS = ("safetensors", "npz")


# ---- the public functions ------------------------------------------------------------------
def save(
    state_dict: Mapping[str, Any],
    path: PathLike,
    format: str | None = None,
    *,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a dict of name -> tensor to ``path`` as safetensors (default) or .npz, atomically.

    The format is ``format`` if given, else the file extension (``.npz`` for NumPy's
    format, anything else safetensors). The file is readable by the ``safetensors``
    package (``safetensors.torch.load_file`` gives torch tensors) and by NumPy's
    ``np.load(path, allow_pickle=False)`` respectively.

    Args:
        state_dict: names to Tensors or ndarrays of bool, integer or floating dtype,
            e.g. ``model.state_dict()``.
        path: the file to write; an existing file is replaced only once the new one is
            complete.
        format: ``"safetensors"`` or ``"npz"`` (None: from the extension).
        metadata: string -> string pairs stored in the safetensors header (e.g. a version).

    Example:
        >>> save(model.state_dict(), "model.safetensors")
    """
    fmt = _resolve_format("save", path, format)
    arrays = _arrays_to_save(state_dict)
    if metadata is not None:
        if fmt != "safetensors":
            raise ValueError("save: metadata= is only stored by the safetensors format")
        if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError("save: metadata must be a dict of str to str")
    with atomic_write(path) as f:
        if fmt == "safetensors":
            _write_safetensors(f, arrays, metadata)
        else:
            _write_npz(f, arrays)


def load(path: PathLike, format: str | None = None, *, map_location: Any = None) -> dict[str, Tensor]:
    """Read a file written by :func:`save` (or by safetensors / ``np.savez``) into a dict of tensors.

    Nothing is unpickled. The whole file is validated before any tensor is read: a
    truncated file, a header that lies about sizes, an unknown dtype, duplicate names, or
    a file of another kind (a pickle, ``torch.save``'s zip) under a .safetensors or .npz
    name is refused with a ValueError that says what is wrong.

    Args:
        path: the file.
        format: ``"safetensors"`` or ``"npz"`` (None: ``.npz`` files by extension, else
            safetensors).
        map_location: where the tensors go, as torch.load's: None or ``"cpu"`` (the CPU),
            a device or its string (``"cuda:0"``), a dict mapping the saved location
            (always ``"cpu"``: files hold no device) to a device, or a callable
            ``f(tensor, "cpu")`` returning the tensor to use.

    Returns:
        The tensors by name, in the file's order (new leaf tensors that own their memory).
        safetensors' BF16 tensors come back as float32 (NumPy has no bfloat16).

    Example:
        >>> model.load_state_dict(load("model.safetensors"))
        >>> gpu_state = load("model.safetensors", map_location="cuda")
    """
    fmt = _resolve_format("load", path, format)
    place = _map_location(map_location)
    with open(path, "rb") as f:
        arrays = _read_safetensors(f, path) if fmt == "safetensors" else _read_npz(f, path)
    return {name: place(Tensor._make(array)) for name, array in arrays.items()}


def _map_location(map_location: Any) -> Any:
    """A function placing one loaded (CPU) tensor as ``map_location`` says, checked before reading."""
    if map_location is None:
        return lambda t: t
    if isinstance(map_location, dict):
        target = map_location.get("cpu")
        return _map_location(target)
    if callable(map_location) and not isinstance(map_location, (str, backend.device)):

        def call(t: Tensor) -> Tensor:
            out = map_location(t, "cpu")
            if out is None:
                return t
            if not isinstance(out, Tensor):
                raise TypeError(
                    f"load: map_location returned a {type(out).__name__}, expected a Tensor or None"
                )
            return out

        return call
    try:
        dev = backend.as_device(map_location)
    except (TypeError, RuntimeError) as e:
        raise TypeError(f"load: map_location must be a device, a string, a dict or a callable: {e}") from None
    backend.to_device(np.empty(0), dev)  # no CuPy or no such GPU: the error now, before reading
    return lambda t: t.to(dev)


def load_metadata(path: PathLike) -> dict[str, str]:
    """The ``__metadata__`` string pairs of a safetensors file ({} if it has none); reads no tensor."""
    with open(path, "rb") as f:
        _, metadata, _ = _safetensors_header(f, path)
    return metadata


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[IO[bytes]]:
    """Write a file all at once or not at all: yields a temporary file in the same directory.

    When the block ends without error the temporary file is flushed, synced to disk and
    renamed over ``path`` (a rename within a directory is atomic), then the directory is
    synced. On error, or a crash, ``path`` keeps its previous content.

    Example:
        >>> with atomic_write("index.json") as f:
        ...     f.write(b"{}")
    """
    # NOTE: a symlink's target is replaced, not the link, as open(path, "wb") would
    target = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):  # say so about the path asked for, not the temporary file
        raise FileNotFoundError(errno.ENOENT, f"no such directory for {os.fspath(path)!r}", directory)
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


# ---- helpers shared by both formats ---------------------------------------------------------
def _resolve_format(op: str, path: PathLike, format: str | None) -> str:
    if format is None:
        return "npz" if os.path.splitext(os.fspath(path))[1].lower() == ".npz" else "safetensors"
    if format not in _FORMATS:
        raise ValueError(f"{op}: format must be one of {_FORMATS}, got {format!r}")
    return format


def _arrays_to_save(state_dict: Any) -> dict[str, np.ndarray]:
    """The arrays to write, checked before any file is touched."""
    if not isinstance(state_dict, Mapping):
        hint = " (save model.state_dict(), not the model)" if hasattr(state_dict, "state_dict") else ""
        raise TypeError(f"save: expected a dict of name -> tensor, got {type(state_dict).__name__}{hint}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: names must be strings, got {name!r} ({type(name).__name__})")
        if name == "__metadata__":
            raise ValueError("save: '__metadata__' is reserved by safetensors; pass metadata= instead")
        array = value.data if isinstance(value, Tensor) else value
        if backend.is_device_array(array):  # a GPU tensor: its values are copied to the host
            array = backend.to_numpy(array)
        if isinstance(array, np.generic):  # a NumPy scalar: a 0-d array
            array = np.asarray(array)
        if not isinstance(array, np.ndarray):
            raise TypeError(f"save: {name!r} must be a Tensor or ndarray, got {type(value).__name__}")
        if (array.dtype.kind, array.dtype.itemsize) not in _NAMES:
            raise TypeError(f"save: {name!r} has dtype {array.dtype}, which neither format can store")
        arrays[name] = array
    return arrays


def _kind_of_file(start: bytes) -> str:
    """A guess at what a file is from its first bytes, to make refusals say something useful."""
    if start[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        return " It looks like a pickle, which neograd never loads."
    if start[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return (
            " It looks like a zip archive (an .npz, or torch.save's format, which holds a pickle "
            "and is never loaded; convert it with safetensors.torch.save_file)."
        )
    if start[:6] == b"\x93NUMPY":
        return " It looks like a single .npy array."
    return ""


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (POSIX; elsewhere the rename is all there is)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_exactly(f: IO[bytes], array: np.ndarray, path: PathLike, name: str) -> None:
    view = array.reshape(-1).view(np.uint8)
    if f.readinto(view) != view.size:
        raise ValueError(f"load: {path}: the data of {name!r} ends early (the file changed while loading?)")


# ---- safetensors ----------------------------------------------------------------------------
def _write_safetensors(
    f: IO[bytes], arrays: dict[str, np.ndarray], metadata: Mapping[str, str] | None
) -> None:
    # larger items first, so each tensor starts at a multiple of its item size (the header
    # is padded to 8 bytes): readers can then map the data without copying
    order = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)
    offsets, end = {}, 0
    for name in order:
        offsets[name] = (end, end + arrays[name].nbytes)
        end += arrays[name].nbytes
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    for name, array in arrays.items():
        dtype_name = _NAMES[array.dtype.kind, array.dtype.itemsize]
        header[name] = {"dtype": dtype_name, "shape": list(array.shape), "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    f.write(len(text).to_bytes(8, "little"))
    f.write(text)
    for name in order:
        array = arrays[name]
        f.write(
            np.ascontiguousarray(array, dtype=_DTYPES[_NAMES[array.dtype.kind, array.dtype.itemsize]]).data
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the name {key!r} appears twice")
        seen[key] = value
    return seen


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _safetensors_header(
    f: IO[bytes], path: PathLike
) -> tuple[list[tuple[str, str, tuple[int, ...], int, int]], dict[str, str], int]:
    """Parse and check the header; returns (entries, metadata, where the data starts).

    Each entry is (name, dtype name, shape, begin, end) with begin/end from the data start.
    """

    def bad(message: str) -> ValueError:
        return ValueError(f"load: {path} is not a valid safetensors file: {message}")

    size = os.fstat(f.fileno()).st_size
    start = f.read(8)
    if len(start) < 8:
        message = f"it has {size} bytes, fewer than the 8 of the header length (truncated?)."
        raise ValueError(str(bad(message)) + _kind_of_file(start))
    n = int.from_bytes(start, "little")
    if n > min(size - 8, _MAX_HEADER):
        what = "exceeds the 100 MB limit" if n > _MAX_HEADER else f"exceeds the {size - 8} bytes that follow"
        raise ValueError(str(bad(f"the header length {n} {what} (truncated?).")) + _kind_of_file(start))
    raw = f.read(n)
    if not raw.startswith(b"{"):
        raise bad("the header is not a JSON object")
    try:
        header = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise bad(f"the header is not well-formed JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ must map strings to strings")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != _HEADER_FIELDS:
            raise bad(f"the entry of {name!r} must have exactly the fields dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES and dtype != _BF16:
            raise bad(f"{name!r} has dtype {dtype!r}, which neograd does not support")
        if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
            raise bad(f"the shape of {name!r} must be a list of non-negative integers, got {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
            raise bad(f"the data_offsets of {name!r} must be two non-negative integers, got {offsets!r}")
        begin, end = offsets
        itemsize = 2 if dtype == _BF16 else _DTYPES[dtype].itemsize
        if _too_large(shape, itemsize):
            raise bad(f"the shape {tuple(shape)} of {name!r} is too large for an array")
        expected = math.prod(shape) * itemsize
        if end - begin != expected:
            raise bad(
                f"{name!r} of shape {tuple(shape)} and dtype {dtype} needs {expected} bytes, "
                f"but its data_offsets [{begin}, {end}] hold {end - begin}"
            )
        entries.append((name, dtype, tuple(shape), begin, end))

    data_size = size - 8 - n
    position = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != position:
            what = (
                "overlaps the previous tensor" if begin < position else f"leaves a gap after byte {position}"
            )
            raise bad(f"the data of {name!r} starts at byte {begin} and {what}")
        position = end
    if position != data_size:
        problem = "ends early (truncated?)" if position > data_size else "has bytes no tensor accounts for"
        raise bad(f"the tensors need {position} bytes of data but the file holds {data_size}: it {problem}")
    return entries, metadata, 8 + n


def _too_large(shape: Any, itemsize: int) -> bool:
    """Whether NumPy refuses the shape, which it does even for empty arrays with huge dimensions."""
    return math.prod(max(d, 1) for d in shape) * itemsize > np.iinfo(np.intp).max


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _read_safetensors(f: IO[bytes], path: PathLike) -> dict[str, np.ndarray]:
    entries, _, data_start = _safetensors_header(f, path)
    arrays = {}
    for name, dtype, shape, begin, _ in entries:
        f.seek(data_start + begin)
        if dtype == _BF16:
            raw = np.empty(shape, np.dtype("<u2"))
            _read_exactly(f, raw, path, name)
            # bfloat16 is the upper half of a float32
            array = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.empty(shape, _DTYPES[dtype])
            _read_exactly(f, array, path, name)
            if not array.dtype.isnative:
                array = array.astype(array.dtype.newbyteorder("="))
        arrays[name] = array
    return arrays


# ---- npz ---------------------------------------------------------------------------------------
def _write_npz(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    # what np.savez does, without its keyword arguments (a tensor named "file" would clash)
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _read_npz(f: IO[bytes], path: PathLike) -> dict[str, np.ndarray]:
    def bad(message: str) -> ValueError:
        return ValueError(f"load: {path} is not a valid .npz file: {message}")

    start = f.read(8)
    f.seek(0)
    if start[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise ValueError(str(bad("it is not a zip archive.")) + _kind_of_file(start))
    try:
        with zipfile.ZipFile(f) as archive:
            members = _npz_members(archive, bad)
            arrays = {}
            for name, info in members.items():
                with archive.open(info) as member:
                    try:
                        array = np.lib.format.read_array(member, allow_pickle=False)
                    except ValueError as e:  # e.g. the member ends before its data does
                        raise bad(f"cannot read {info.filename!r} ({e})") from None
                    if member.read(1):  # reading to the end also checks the CRC
                        raise bad(f"{info.filename!r} has bytes after its array")
                arrays[name] = array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))
            return arrays
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise bad(f"{type(e).__name__}: {e}") from None


def _npz_members(archive: zipfile.ZipFile, bad: Any) -> dict[str, zipfile.ZipInfo]:
    """Check every member's .npy header against its size before any array is allocated."""
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy") or info.is_dir():
            raise bad(f"the member {info.filename!r} is not an .npy array")
        name = info.filename[: -len(".npy")]
        if name in members:
            raise bad(f"the name {name!r} appears twice")
        with archive.open(info) as member:
            try:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
            except Exception as e:  # NumPy's parser raises ValueError, SyntaxError, TokenError... on garbage
                raise bad(f"the header of {info.filename!r} is malformed ({type(e).__name__}: {e})") from None
            header_size = member.tell()
        if dtype.hasobject:
            raise bad(f"{name!r} holds Python objects, which would need unpickling; neograd never unpickles")
        if dtype.kind not in "biuf" or dtype.fields is not None:
            raise bad(f"{name!r} has dtype {dtype}, which neograd does not support")
        if _too_large(shape, dtype.itemsize):
            raise bad(f"the shape {shape} of {name!r} is too large for an array")
        expected = math.prod(shape) * dtype.itemsize
        if info.file_size - header_size != expected:
            raise bad(
                f"{name!r} of shape {shape} and dtype {dtype} needs {expected} bytes, "
                f"but its member holds {info.file_size - header_size}"
            )
        members[name] = info
    return members
