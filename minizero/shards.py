"""Dataset shards: named numpy arrays in one ``.npz`` with a format tag, written atomically.

A shard is written to a temporary file and renamed, so a reader (or a run resumed after kill -9)
never sees half a shard; it is read with ``allow_pickle=False`` and checked against a schema
(dtype and trailing shape of every array, one common length), so a corrupt or foreign file gets
a one-line ValueError naming it. Used by the NNUE positions (nnue/data.py) and the AlphaZero
chess data (chessgame/data.py), which write theirs in `Streams`, one a worker.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minizero.atomic import atomic_write
from minizero.cluster import ClusterSpec, run_streams
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


@dataclass(frozen=True)
class Streams:
    """``workers`` streams of shards in ``out`` that together hold ``positions`` positions:
    stream ``s`` writes ``PREFIX-wSS-NNNNN.npz``, shard by shard, until it holds its equal
    share. A stream's shard depends only on the seed, the stream and the shard's number, so the
    same shards come out of local worker processes and of units on a cluster, and a resumed run
    goes on from the shards each stream has."""

    out: Path
    prefix: str
    positions: int
    workers: int

    def share(self, stream: int) -> int:
        return self.positions // self.workers + (stream < self.positions % self.workers)

    def path(self, stream: int, index: int) -> Path:
        return Path(self.out) / f"{self.prefix}-w{stream:02d}-{index:05d}.npz"

    def existing(self, stream: int) -> list[Path]:
        return sorted(Path(self.out).glob(f"{self.prefix}-w{stream:02d}-*.npz"))


def fill_streams_on_cluster(streams: Streams, cluster: ClusterSpec, length: Callable[[Path], int],
                            unit: Callable[[int, int, int], tuple[Callable[..., Any], tuple]],
                            write: Callable[[Path, Any], int], quiet: bool = False) -> None:
    """Fill ``streams`` with shards made as units on ``cluster``, ``streams.workers`` at once.

    ``length(path)`` counts a shard's positions; ``unit(stream, index, wanted)`` gives the
    function and arguments that make shard ``index`` of ``stream`` (``wanted`` positions at the
    most are still missing), whose result (None when it made nothing) ``write(path, result)``
    writes here, returning its positions.
    """
    from tqdm import tqdm

    done = {s: sum(length(path) for path in streams.existing(s)) for s in range(streams.workers)}
    index = {s: len(streams.existing(s)) for s in range(streams.workers)}
    ended: set[int] = set()
    bar = tqdm(total=streams.positions, initial=min(streams.positions, sum(done.values())),
               unit="pos", disable=True if quiet else None, smoothing=0.05)

    def next_unit(stream: int) -> tuple | None:
        wanted = streams.share(stream) - done[stream]
        return None if wanted <= 0 or stream in ended else unit(stream, index[stream], wanted)

    def on_result(stream: int, result: Any) -> None:
        if result is None:  # nothing made: nothing more will come of this stream
            ended.add(stream)
            return
        written = write(streams.path(stream, index[stream]), result)
        done[stream] += written
        index[stream] += 1
        bar.update(written)

    run_streams(cluster, streams.workers, next_unit, on_result)
    bar.close()
