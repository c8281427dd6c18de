"""Training the chess network on Stockfish-labelled positions, and grading it on held-out games.

The data (chessgame/data.py) stays bit-packed in memory, 8 C + 1 bytes a position instead of
the 4 x 64 C bytes of float planes plus 4 x 4672 bytes of a dense policy: `PackedSamples` hands
the one trainer (minizero/train.py) float tensors one minibatch at a time.

Targets, from the side to move:

* policy: one-hot on Stockfish's move, with the position's legal-move mask (the trainer takes
  the policy's softmax over the legal moves only; `legal_masks` rebuilds them from the FENs);
* value: ``(1 - eval_weight) * result + eval_weight * cp_to_value(score)``: the game's result
  mixed with Stockfish's own estimate (the WDL head learns (max(z,0), 1-|z|, max(-z,0))).

The value <-> centipawn mapping used everywhere in chess (targets here, ``score cp`` in the PUCT
engine's info lines): ``value = tanh(cp / CP_SCALE)``, ``cp = CP_SCALE * atanh(value)``, with
CP_SCALE = 400 (a pawn up, +100 cp, is a value of 0.245; +400 cp is 0.76).

Grading on held-out *games* (split by game id): top-1 agreement of the raw policy with
Stockfish's move, and the mean absolute error of the value against ``cp_to_value(score)``.

Run it: ``minizero train --game chess --data /work/data/az-chess/sf-d8 --value-head wdl``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np
import torch

from minizero.chessgame import encoding
from minizero.chessgame.data import read_shard

CP_SCALE = 400.0
MAX_CP = 10_000


def cp_to_value(cp: np.ndarray | float) -> np.ndarray:
    """Centipawns (side to move) -> value in (-1, 1): tanh(cp / 400)."""
    return np.tanh(np.asarray(cp, dtype=np.float64) / CP_SCALE)


def value_to_cp(value: float) -> int:
    """Value in [-1, 1] (side to move) -> centipawns: 400 atanh(value) (+-2902 at +-1)."""
    value = max(-0.999999, min(0.999999, float(value)))
    return int(max(-MAX_CP, min(MAX_CP, round(CP_SCALE * math.atanh(value)))))


def validation_mask(game_id: np.ndarray, fraction: float) -> np.ndarray:
    """True for held-out positions: a fixed hash of the game id, so whole games are held out."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"the held-out fraction must be in [0, 1], got {fraction}")
    mixed = (game_id.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return (mixed % np.uint64(10_000)).astype(np.int64) < int(round(fraction * 10_000))


@dataclass
class PackedSamples:
    """Chess training samples, planes bit-packed (see the module docstring)."""

    bits: np.ndarray  # (N, 8 C) uint8
    clock: np.ndarray  # (N,) uint8
    move: np.ndarray  # (N,) int64 policy index
    value: np.ndarray  # (N,) float32 target from the side to move
    score: np.ndarray  # (N,) int16 Stockfish cp
    fen: np.ndarray  # (N,) str
    history: int
    mirror: bool = False  # batch(): mirror the files of about half the castling-free positions

    def __len__(self) -> int:
        return len(self.move)

    def subset(self, mask: np.ndarray) -> PackedSamples:
        return PackedSamples(self.bits[mask], self.clock[mask], self.move[mask],
                             self.value[mask], self.score[mask], self.fen[mask], self.history)

    def planes(self, indices: np.ndarray) -> np.ndarray:
        return encoding.unpack_planes(self.bits[indices], self.clock[indices], self.history)

    def legal_masks(self, indices: np.ndarray) -> np.ndarray:
        """(len(indices), 4672) bool legal-move masks, from the FENs (~150 us a position)."""
        return np.stack([encoding.legal_mask(chess.Board(str(fen))) for fen in self.fen[indices]])

    def batch(self, indices: np.ndarray
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(planes, one-hot policy, value, legal mask) tensors for the trainer.

        With ``mirror``, each position without castling rights is mirrored a-file <-> h-file
        with probability 1/2 (planes, move and mask alike): a true symmetry of chess without
        castling, so such positions count twice. The coin flips are seeded by the indices, so
        a batch drawn again (a resumed run) is the same batch."""
        planes, moves, masks = self.planes(indices), self.move[indices], self.legal_masks(indices)
        if self.mirror:
            flip = castling_free(planes, self.history) & (
                np.random.default_rng(indices).random(len(indices)) < 0.5)
            planes[flip], masks[flip] = mirror_files(planes[flip], masks[flip])
            moves = np.where(flip, encoding.FILE_MIRROR[moves], moves)
        policy = np.zeros((len(indices), encoding.ACTION_SIZE), dtype=np.float32)
        policy[np.arange(len(indices)), moves] = 1.0
        return (torch.from_numpy(planes), torch.from_numpy(policy),
                torch.from_numpy(self.value[indices]), torch.from_numpy(masks))


def castling_free(planes: np.ndarray, history: int) -> np.ndarray:
    """(N,) bool: which of the (N, C, 8, 8) positions have no castling rights left, so that
    mirroring their files (`mirror_files`) is a symmetry."""
    castling = encoding.PLANES_PER_STEP * history + 1  # 4 planes of rights
    return planes[:, castling:castling + 4, 0, 0].sum(axis=1) == 0


def mirror_files(planes: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, 8, 8) planes and (N, 4672) legal masks of the positions mirrored a <-> h."""
    return np.ascontiguousarray(planes[..., ::-1]), masks[:, encoding.FILE_MIRROR]


def is_chess_data(path: str | Path) -> bool:
    """A directory of Stockfish-labelled chess shards (``az-*.npz``)."""
    return Path(path).is_dir() and any(Path(path).glob("az-*.npz"))


def load_chess_data(paths: list[str | Path], history: int, eval_weight: float = 0.5,
                    limit: int | None = None) -> tuple[PackedSamples, np.ndarray]:
    """Every shard of the given directories (sorted, at most ``limit`` positions) and the
    game ids. ValueError naming a file that is corrupt or of another history length."""
    if not 0 <= eval_weight <= 1:
        raise ValueError(f"eval_weight must be in [0, 1], got {eval_weight}")
    parts = []
    for path in paths:
        shard_paths = sorted(Path(path).glob("az-*.npz"))
        if not shard_paths:
            raise ValueError(f"{path}: no chess shards (az-*.npz) in this directory")
        parts.extend(read_shard(shard, history) for shard in shard_paths)
    arrays = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    if limit is not None:
        arrays = {name: array[:limit] for name, array in arrays.items()}
    value = ((1 - eval_weight) * arrays["result"].astype(np.float64)
             + eval_weight * cp_to_value(arrays["score"])).astype(np.float32)
    samples = PackedSamples(arrays["bits"], arrays["clock"], arrays["move"].astype(np.int64),
                            value, arrays["score"], arrays["fen"], history)
    return samples, arrays["game_id"]


@torch.no_grad()
def grade(network: torch.nn.Module, held: PackedSamples, batch_size: int = 512,
          mirror_average: bool = False) -> dict[str, float]:
    """Top-1 agreement of the raw policy with Stockfish's move, and value mean absolute error
    against Stockfish's score mapped to a value, over ``held``. With ``mirror_average`` also
    ``top1_mirror_average``: the policy of each castling-free position averaged with that of
    its file mirror (mapped back), a second network call for those positions."""
    agree = agree_averaged = 0
    errors = []
    for start in range(0, len(held), batch_size):
        indices = np.arange(start, min(start + batch_size, len(held)))
        planes, masks = held.planes(indices), held.legal_masks(indices)
        policy, value = network.predict(planes, masks)
        agree += int((policy.argmax(axis=1) == held.move[indices]).sum())
        errors.append(np.abs(value - cp_to_value(held.score[indices])))
        if mirror_average:
            twin, _ = network.predict(*mirror_files(planes, masks))
            averaged = np.where(castling_free(planes, held.history)[:, None],
                                (policy + twin[:, encoding.FILE_MIRROR]) / 2, policy)
            agree_averaged += int((averaged.argmax(axis=1) == held.move[indices]).sum())
    graded = {"top1": agree / max(1, len(held)),
              "value_mae": float(np.concatenate(errors).mean()) if errors else 0.0,
              "held_out": len(held)}
    if mirror_average:
        graded["top1_mirror_average"] = agree_averaged / max(1, len(held))
    return graded
