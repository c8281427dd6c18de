"""Dataset shards: named numpy arrays in one ``.npz`` with a format tag, written atomically.

A shard is written to a temporary file and renamed, so a reader (or a run resumed after kill -9)
never sees half a shard; it is read with ``allow_pickle=False`` and checked against a schema
(dtype and trailing shape of every array, one common length), so a corrupt or foreign file gets
a one-line ValueError naming it. Used by the NNUE positions (nnue/data.py) and the AlphaZero
chess data (chessgame/data.py).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from minizero.atomic import atomic_write
from minizero.inputs import npz_file

# name -> (dtype, trailing shape); None in the shape accepts any size along that axis
Schema = dict[str, tuple[type, tuple[int | None, ...]]]


def write_shard(path: str | Path, tag: bytes, version: int, arrays: dict[str, np.ndarray],
                schema: Schema) -> None:
    """Write ``arrays`` (cast to the schema's dtypes) with the format tag, atomically."""
    cast = {name: np.ascontiguousarray(arrays[name], dtype=dtype)
            for name, (dtype, _) in schema.items()}
    with atomic_write(Path(path)) as handle:
        np.savez_compressed(handle, format=np.array(tag), version=np.array(version, np.int32),
                            **cast)


def read_shard(path: str | Path, tag: bytes, version: int, schema: Schema,
               kind: str = "") -> dict[str, np.ndarray]:
    """Read and validate one shard; ValueError naming the file for anything wrong with it.

    ``kind`` names the data in messages ("not a KIND shard"); the tag by default."""
    path = npz_file(path, f"{kind or tag.decode()} shard")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "format" not in archive.files or bytes(archive["format"]) != tag:
                raise ValueError(f"not a {kind or tag.decode()} shard (format tag missing)")
            found = int(archive["version"])
            if found != version:
                raise ValueError(f"shard version {found}, this code reads {version}")
            missing = [name for name in schema if name not in archive.files]
            if missing:
                raise ValueError(f"missing arrays {missing}")
            arrays = {name: archive[name] for name in schema}
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path}: unreadable shard ({type(error).__name__}: {error})") from None
    count = len(next(iter(arrays.values()))) if arrays else 0
    for name, (dtype, shape) in schema.items():
        array = arrays[name]
        fits = (array.ndim == 1 + len(shape) and len(array) == count
                and all(want is None or want == got for want, got in zip(shape, array.shape[1:])))
        if np.dtype(dtype).kind == "U":
            fits = fits and array.dtype.kind == "U"
        else:
            fits = fits and array.dtype == dtype
        if not fits:
            expected = tuple("N" if size is None else size for size in shape)
            raise ValueError(f"{path}: array {name} has {array.dtype}{array.shape}, "
                             f"expected {np.dtype(dtype)}(N, *{expected})")
    return arrays
