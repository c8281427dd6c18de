"""Training samples on disk: npz shards of (planes, policy, value), never pickled.

Self-play writes one shard per finished batch of games and supervised data is one shard too; a
``ReplayBuffer`` reads the shards of the replay window back as one set of arrays (a self-play
shard has a ``.json`` beside it: its counts and the weights version that played it). Each
shard is written atomically (minizero.atomic), so a crash leaves no half shard behind; a
corrupt or foreign shard gets a one-line error naming it.

Arrays of a shard of N samples:
    planes (N, C, H, W) float32   network input from the side to move
    policy (N, A)       float32   target move distribution (MCTS visits, or the optimal moves)
    value  (N,)         float32   target value for the side to move, in [-1, 1]
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from minizero.atomic import atomic_write
from minizero.inputs import npz_file
from minizero.rundir import write_json

SHARD_PATTERN = re.compile(r"gen-(\d+)-part-(\d+)\.npz")


@dataclass
class Samples:
    """A batch of training samples (see the module docstring for shapes)."""

    planes: np.ndarray
    policy: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.value)

    def batch(self, indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The samples at ``indices`` as float32 tensors (planes, policy, value); any set of
        samples with ``__len__`` and this method trains (chess keeps its planes bit-packed)."""
        return (torch.from_numpy(self.planes[indices]), torch.from_numpy(self.policy[indices]),
                torch.from_numpy(self.value[indices]))

    @staticmethod
    def concatenate(parts: list[Samples]) -> Samples:
        return Samples(np.concatenate([p.planes for p in parts]),
                       np.concatenate([p.policy for p in parts]),
                       np.concatenate([p.value for p in parts]))


def save_samples(path: str | Path, samples: Samples) -> None:
    """Write a shard atomically (temp file + rename)."""
    path = Path(path)
    with atomic_write(path) as handle:
        np.savez(handle, planes=samples.planes.astype(np.float32),
                 policy=samples.policy.astype(np.float32),
                 value=samples.value.astype(np.float32))


def load_samples(path: str | Path) -> Samples:
    """Read a shard; ValueError naming the file if it is missing, corrupt or foreign."""
    path = npz_file(path, "replay shard")
    try:
        with np.load(path, allow_pickle=False) as data:
            samples = Samples(data["planes"], data["policy"], data["value"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path}: not a replay shard ({str(error)[:100]})") from None
    count = len(samples.value)
    if samples.planes.ndim != 4 or len(samples.planes) != count or len(samples.policy) != count:
        raise ValueError(f"{path}: replay shard arrays disagree in length or shape")
    check_samples(samples, str(path))
    return samples


def _first_row(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))[0])


def check_samples(samples: Samples, source: str) -> None:
    """ValueError naming ``source`` and the first bad row unless every number is finite, every
    value lies in [-1, 1] and every policy row is a probability distribution."""
    for name in ("planes", "policy", "value"):
        array = getattr(samples, name)
        bad = ~np.isfinite(array)
        if bad.any():
            raise ValueError(f"{source}: row {_first_row(bad)}: {name} is not finite")
    outside = np.abs(samples.value) > 1
    if outside.any():
        row = _first_row(outside)
        raise ValueError(f"{source}: row {row}: value {samples.value[row]:g} is outside [-1, 1]")
    negative = samples.policy < 0
    if negative.any():
        raise ValueError(f"{source}: row {_first_row(negative)}: negative policy entry")
    if len(samples):
        off = np.abs(samples.policy.sum(axis=1) - 1) > 1e-3
        if off.any():
            row = _first_row(off)
            raise ValueError(f"{source}: row {row}: policy sums to "
                             f"{samples.policy[row].sum():g}, not 1")


class ReplayBuffer:
    """The shards ``gen-GGGG-part-PP.npz`` of a directory, each with a ``.json`` beside it: its
    counts (games, plies, ...) and the weights ``version`` that played it (a shard without one
    was played by version generation - 1, as in turn).

    The window: the learner of version v trains on the shards played by one of its last
    ``window`` versions (version > v - window). When games are played in turn, generation g by
    version g - 1, those are the last ``window`` generations; when actors play on while the
    learner trains, that rule drops the games that are too stale.
    """

    def __init__(self, directory: str | Path, window: int) -> None:
        if window < 1:
            raise ValueError(f"replay window must be at least 1 generation, got {window}")
        self.directory = Path(directory)
        self.window = window

    def shard_path(self, generation: int, part: int) -> Path:
        return self.directory / f"gen-{generation:04d}-part-{part:02d}.npz"

    def parts(self, generation: int) -> list[int]:
        """Finished parts of a generation."""
        found = []
        for path in self.directory.glob(f"gen-{generation:04d}-part-*.npz"):
            match = SHARD_PATTERN.fullmatch(path.name)
            if match:
                found.append(int(match.group(2)))
        return sorted(found)

    def generations(self) -> list[int]:
        found = set()
        for path in self.directory.glob("gen-*-part-*.npz"):
            match = SHARD_PATTERN.fullmatch(path.name)
            if match:
                found.add(int(match.group(1)))
        return sorted(found)

    def write(self, generation: int, part: int, samples: Samples, stats: dict[str, int]) -> None:
        """Write a finished shard; its counts and version (``stats``) first, so that a shard on
        disk always has them."""
        shard = self.shard_path(generation, part)
        shard.parent.mkdir(parents=True, exist_ok=True)
        write_json(shard.with_suffix(".json"), stats)
        save_samples(shard, samples)

    def stats(self, generation: int, part: int) -> dict[str, int]:
        path = self.shard_path(generation, part).with_suffix(".json")
        return json.loads(path.read_text()) if path.exists() else {}

    def version(self, generation: int, part: int) -> int:
        """The weights version that played a shard."""
        return int(self.stats(generation, part).get("version", generation - 1))

    def window_shards(self, up_to: int) -> list[tuple[int, int]]:
        """(generation, part) of the shards that train generation ``up_to`` (learner version
        ``up_to - 1``): played by one of its last ``window`` versions. Such a shard lies in
        the last ``window`` generations, as a shard's version is below its generation."""
        return [(generation, part) for generation in self.generations()
                if up_to - self.window < generation <= up_to
                for part in self.parts(generation)
                if self.version(generation, part) > up_to - 1 - self.window]

    def staleness(self, up_to: int) -> float:
        """Mean over the games that train generation ``up_to`` of the learner's version
        (``up_to - 1``) minus the version that played them."""
        weighted = games = 0
        for generation, part in self.window_shards(up_to):
            count = int(self.stats(generation, part).get("games", 1))
            weighted += count * (up_to - 1 - self.version(generation, part))
            games += count
        return weighted / max(1, games)

    def load(self, up_to: int) -> Samples:
        """All samples of the shards that train generation ``up_to`` (``window_shards``)."""
        parts = [load_samples(self.shard_path(generation, part))
                 for generation, part in self.window_shards(up_to)]
        if not parts:
            raise ValueError(f"{self.directory}: no replay shards up to generation {up_to}")
        return Samples.concatenate(parts)
