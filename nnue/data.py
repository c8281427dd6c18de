"""Training positions for NNUE: from engine games, labelled by Stockfish, stored in shards.

Idea: an evaluator must be right on the positions a search meets, so we play games between
engines (Stockfish at a low depth) from randomized openings, keep the *quiet* positions (side to
move not in check, best move neither a capture nor a promotion: a static evaluator cannot see a
pending exchange), and label each with the Stockfish search score (centipawns, side to move) and
the game's final result. The search that chooses each move is also the one that labels its
position, so every labelled position costs exactly one Stockfish search.

Reference: the Stockfish NNUE trainers' ``gensfen`` (self-play at low depth, random opening moves,
score + game result per position); nnue-pytorch's docs on "quiet" filtering.

Shard schema (``.npz`` written by numpy, read with ``allow_pickle=False``), version 1:

===============  ========  =======================================================================
array            dtype     meaning
===============  ========  =======================================================================
``format``       bytes     ``b"minizero-nnue-positions"``
``version``      int32     ``SHARD_VERSION``
``pieces``       uint8     (N, 64) piece on each square a1..h8: 0 empty, 1..6 white P N B R Q K,
                           7..12 black P N B R Q K
``side_to_move`` uint8     (N,) 1 white, 0 black
``score``        int16     (N,) teacher score in centipawns, from the side to move
``result``       int8      (N,) game result from the side to move: 1 win, 0 draw, -1 loss
``game_id``      int64     (N,) positions of one game share it; train/validation split by game
===============  ========  =======================================================================

Commands: ``nnue data --out data/sf --positions 1000000 --depth 6`` (generate, resumable);
``nnue data --import games.txt --out data/mine`` (``fen | score | result`` lines).
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np

from minizero.chessgame.stockfish import MATE_SCORE, UciEngine  # mates are never kept
from minizero.cluster import LOCAL, ClusterSpec
from minizero.inputs import text_lines
from minizero.lifeline import run_workers
from minizero.shards import Streams, fill_streams_on_cluster
from minizero.shards import read_shard as read_arrays
from minizero.shards import write_shard as write_arrays

SHARD_FORMAT = b"minizero-nnue-positions"
SHARD_VERSION = 1
SHARD_ARRAYS = {
    "pieces": np.uint8,
    "side_to_move": np.uint8,
    "score": np.int16,
    "result": np.int8,
    "game_id": np.int64,
}
SCORE_LIMIT = 20000  # teacher scores are clipped to +-SCORE_LIMIT so they fit int16


# ----------------------------------------------------------------------------- board encoding


def encode_board(board: chess.Board) -> np.ndarray:
    """(64,) uint8 piece codes, a1..h8: 0 empty, 1..6 white PNBRQK, 7..12 black PNBRQK."""
    pieces = np.zeros(64, dtype=np.uint8)
    for square, piece in board.piece_map().items():
        pieces[square] = piece.piece_type + (0 if piece.color == chess.WHITE else 6)
    return pieces


def decode_board(pieces: np.ndarray, side_to_move: int) -> chess.Board:
    """The board (no castling rights, no en-passant square) of one stored position."""
    board = chess.Board(None)
    for square in np.flatnonzero(pieces):
        code = int(pieces[square])
        colour = chess.WHITE if code <= 6 else chess.BLACK
        board.set_piece_at(int(square), chess.Piece((code - 1) % 6 + 1, colour))
    board.turn = bool(side_to_move)
    return board


# ----------------------------------------------------------------------------- shards


@dataclass(frozen=True)
class Positions:
    """A set of labelled positions (the arrays of one or more shards)."""

    pieces: np.ndarray  # (N, 64) uint8
    side_to_move: np.ndarray  # (N,) uint8, 1 = white
    score: np.ndarray  # (N,) int16, centipawns from the side to move
    result: np.ndarray  # (N,) int8, from the side to move
    game_id: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.score)

    def subset(self, mask: np.ndarray) -> Positions:
        return Positions(*(getattr(self, name)[mask] for name in SHARD_ARRAYS))

    @staticmethod
    def concatenate(parts: list[Positions]) -> Positions:
        if not parts:
            return Positions(*(np.zeros((0, 64) if n == "pieces" else 0, t)
                               for n, t in SHARD_ARRAYS.items()))
        return Positions(*(np.concatenate([getattr(p, n) for p in parts]) for n in SHARD_ARRAYS))


SHARD_SCHEMA = {name: (dtype, (64,) if name == "pieces" else ())
                for name, dtype in SHARD_ARRAYS.items()}


def write_shard(path: Path, positions: Positions) -> None:
    """Write a shard atomically (minizero.shards): a reader never sees half a shard."""
    write_arrays(path, SHARD_FORMAT, SHARD_VERSION,
                 {name: getattr(positions, name) for name in SHARD_ARRAYS}, SHARD_SCHEMA)


def read_shard(path: Path) -> Positions:
    """Read and validate one shard; a corrupt, foreign or out-of-range one raises a one-line
    ValueError naming the file (and the row)."""
    arrays = read_arrays(path, SHARD_FORMAT, SHARD_VERSION, SHARD_SCHEMA,
                         kind="minizero position")
    count = len(arrays["score"])
    for name, limit in (("pieces", 12), ("result", 1), ("score", SCORE_LIMIT)):
        outside = np.abs(arrays[name].astype(np.int64)) > limit
        if outside.any():
            row = int(np.flatnonzero(outside.reshape(count, -1).any(axis=1))[0])
            raise ValueError(f"{path}: row {row}: {name} out of range (|{name}| <= {limit})")
    return Positions(**arrays)


def shard_paths(source: Path) -> list[Path]:
    """The shards of a dataset: a directory (all ``*.npz`` inside, sorted) or one file."""
    source = Path(source)
    if source.is_dir():
        paths = sorted(source.glob("*.npz"))
        if not paths:
            raise ValueError(f"{source}: no .npz shards in this directory")
        return paths
    if source.is_file():
        return [source]
    raise ValueError(f"{source}: no such dataset file or directory")


def iter_shards(sources: list[Path]) -> Iterator[Positions]:
    """Stream a dataset one shard at a time (memory: one shard)."""
    for source in sources:
        for path in shard_paths(source):
            yield read_shard(path)


def load_positions(sources: list[Path]) -> Positions:
    """All positions of the given datasets in memory (66 bytes per position)."""
    return Positions.concatenate(list(iter_shards(sources)))


def validation_mask(game_id: np.ndarray, fraction: float) -> np.ndarray:
    """True for validation positions: a fixed hash of the game id, so whole games are held out."""
    mixed = (game_id.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return (mixed % np.uint64(10_000)).astype(np.int64) < int(round(fraction * 10_000))


# ----------------------------------------------------------------------------- text import


def parse_text_line(line: str) -> tuple[chess.Board, int, int]:
    """Parse ``fen | score | result`` (score cp from side to move; result 1, 0, -1 or 1-0, 1/2-1/2,
    0-1 from White). Raises ValueError saying what is wrong."""
    fields = [field.strip() for field in line.split("|")]
    if len(fields) != 3:
        raise ValueError(f"expected 'fen | score | result', got {len(fields)} field(s)")
    fen, score_text, result_text = fields
    try:
        board = chess.Board(fen)
    except ValueError as error:
        raise ValueError(f"malformed FEN {fen!r}: {error}") from None
    try:
        score = int(round(float(score_text)))
    except ValueError:
        raise ValueError(f"score {score_text!r} is not a number") from None
    white_results = {"1-0": 1, "0-1": -1, "1/2-1/2": 0}
    if result_text in white_results:
        result = white_results[result_text] * (1 if board.turn == chess.WHITE else -1)
    elif result_text in {"1", "0", "-1"}:
        result = int(result_text)
    else:
        raise ValueError(f"result {result_text!r} is not 1, 0, -1, 1-0, 0-1 or 1/2-1/2")
    return board, max(-SCORE_LIMIT, min(SCORE_LIMIT, score)), result


def import_text(path: Path, out: Path, skip_bad: bool,
                shard_size: int = 100_000) -> tuple[int, int]:
    """Convert a text file of ``fen | score | result`` lines into shards in ``out``.

    Blank lines and lines starting with ``#`` are ignored. A malformed line raises ValueError
    naming its line number, unless ``skip_bad`` (then it is reported on stderr and skipped).
    Returns (positions written, lines skipped). Nothing is written if a line is rejected.
    """
    import sys

    rows: list[tuple[np.ndarray, int, int, int, int]] = []
    skipped = 0
    for number, line in text_lines(path, errors="replace"):
        try:
            board, score, result = parse_text_line(line)
        except ValueError as error:
            if not skip_bad:
                raise ValueError(f"{path}:{number}: {error}") from None
            print(f"{path}:{number}: skipped: {error}", file=sys.stderr)
            skipped += 1
            continue
        rows.append((encode_board(board), int(board.turn), score, result, number))
    for index, start in enumerate(range(0, len(rows), shard_size)):
        chunk = rows[start:start + shard_size]
        write_shard(Path(out) / f"import-{index:05d}.npz", Positions(
            pieces=np.stack([row[0] for row in chunk]),
            side_to_move=np.array([row[1] for row in chunk], np.uint8),
            score=np.array([row[2] for row in chunk], np.int16),
            result=np.array([row[3] for row in chunk], np.int8),
            game_id=np.array([row[4] for row in chunk], np.int64),
        ))
    return len(rows), skipped


# ----------------------------------------------------------------------------- Stockfish games


@dataclass(frozen=True)
class GenerateConfig:
    """How training games are played and positions sampled."""

    positions: int = 100_000  # labelled positions to produce (all workers together)
    depth: int = 6  # Stockfish search depth per move (labels and moves); ignored if nodes is set
    nodes: int | None = None  # Stockfish node limit per move instead of a depth
    workers: int = 2  # worker processes, one Stockfish each
    random_plies_min: int = 4  # each game opens with a random number of uniformly random moves
    random_plies_max: int = 12
    random_move_probability: float = 0.03  # after the opening, play a random move this often
    keep_probability: float = 1.0  # keep each quiet position with this probability
    adjudicate_score: int = 1500  # |score| above this for adjudicate_plies plies decides the game
    adjudicate_plies: int = 6
    max_plies: int = 400  # longer games are scored as draws
    shard_size: int = 10_000  # positions per shard (kill -9 loses at most one shard per worker)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("positions", "depth", "workers", "max_plies", "shard_size",
                     "adjudicate_plies"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.nodes is not None and self.nodes < 1:  # "go nodes 0" or less searches forever
            raise ValueError(f"nodes must be positive, got {self.nodes}")
        if not 0 <= self.random_plies_min <= self.random_plies_max:
            raise ValueError("random plies need 0 <= MIN <= MAX, got "
                             f"{self.random_plies_min} {self.random_plies_max}")
        for name in ("random_move_probability", "keep_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


def play_game(engine: UciEngine, config: GenerateConfig, rng: random.Random
              ) -> list[tuple[np.ndarray, int, int, int]]:
    """Play one game; return its quiet positions as (pieces, side to move, score, result)."""
    board = chess.Board()
    moves: list[str] = []
    engine.new_game()
    for _ in range(rng.randint(config.random_plies_min, config.random_plies_max)):
        legal = list(board.legal_moves)
        if not legal:
            return []
        move = rng.choice(legal)
        board.push(move)
        moves.append(move.uci())
    if board.is_game_over():
        return []
    sampled: list[tuple[np.ndarray, int, int]] = []  # pieces, side to move, score
    white_result = 0
    decisive_streak = 0
    while True:
        if board.is_checkmate():
            white_result = -1 if board.turn == chess.WHITE else 1
            break
        if (board.is_stalemate() or board.is_insufficient_material()
                or board.halfmove_clock >= 100 or board.is_repetition(3)
                or len(moves) >= config.max_plies):
            break
        score, best_uci = engine.search(moves, config.depth, config.nodes)
        best = chess.Move.from_uci(best_uci)
        quiet = (abs(score) < MATE_SCORE and not board.is_check()
                 and not board.is_capture(best) and best.promotion is None)
        if quiet and rng.random() < config.keep_probability:
            sampled.append((encode_board(board), int(board.turn),
                            max(-SCORE_LIMIT, min(SCORE_LIMIT, score))))
        white_score = score if board.turn == chess.WHITE else -score
        if abs(white_score) >= config.adjudicate_score:
            same_side = decisive_streak * white_score > 0
            decisive_streak = (decisive_streak + (1 if white_score > 0 else -1)
                               if same_side or decisive_streak == 0
                               else (1 if white_score > 0 else -1))
        else:
            decisive_streak = 0
        if abs(decisive_streak) >= config.adjudicate_plies:
            white_result = 1 if decisive_streak > 0 else -1
            break
        if rng.random() < config.random_move_probability:
            best = rng.choice(list(board.legal_moves))
        board.push(best)
        moves.append(best.uci())
    return [(pieces, turn, score, white_result if turn == 1 else -white_result)
            for pieces, turn, score in sampled]


def _worker(worker: int, config: GenerateConfig, stockfish: str, out: Path,
            progress: multiprocessing.Queue) -> None:
    """Play games until this worker's share of positions is on disk, shard by shard."""
    streams = _streams(config, out)
    share = streams.share(worker)
    existing = streams.existing(worker)
    done = sum(len(read_shard(path)) for path in existing)
    progress.put(done)
    engine = UciEngine(stockfish)
    shard_index = len(existing)
    try:
        while done < share:
            positions = label_shard(engine, config, worker, shard_index, share - done,
                                    progress.put)
            write_shard(streams.path(worker, shard_index), positions)
            done += len(positions)
            shard_index += 1
    finally:
        engine.close()


def _streams(config: GenerateConfig, out: Path) -> Streams:
    """Where each worker's shards go: ``sf-wWW-SSSSS.npz``."""
    return Streams(out, "sf", config.positions, config.workers)


def label_shard(engine: UciEngine, config: GenerateConfig, worker: int, shard_index: int,
                wanted: int, on_game: Callable[[int], None] = lambda count: None) -> Positions:
    """Shard ``shard_index`` of ``worker``: whole games until it holds ``config.shard_size``
    positions (or ``wanted``, if fewer). Seeded per shard, so a resumed run continues with
    fresh games, never repeats, and a shard is the same wherever it is labelled."""
    rng = random.Random(f"{config.seed}-{worker}-{shard_index}")
    rows: list[tuple[np.ndarray, int, int, int, int]] = []
    game_number = 0
    while len(rows) < min(config.shard_size, wanted):
        game_id = (config.seed << 48) | (worker << 40) | (shard_index << 20) | game_number
        game = play_game(engine, config, rng)
        rows.extend((*row, game_id) for row in game)
        game_number += 1
        on_game(len(game))
    return Positions(
        pieces=np.stack([row[0] for row in rows]),
        side_to_move=np.array([row[1] for row in rows], np.uint8),
        score=np.array([row[2] for row in rows], np.int16),
        result=np.array([row[3] for row in rows], np.int8),
        game_id=np.array([row[4] for row in rows], np.int64),
    )


def label_shard_unit(config: GenerateConfig, stockfish: str, worker: int, shard_index: int,
                     wanted: int) -> Positions:
    """``label_shard`` as a unit of work (``minizero.cluster``), with its own Stockfish."""
    engine = UciEngine(stockfish)
    try:
        return label_shard(engine, config, worker, shard_index, wanted)
    finally:
        engine.close()


def _write(path: Path, positions: Positions) -> int:
    write_shard(path, positions)
    return len(positions)


def generate(config: GenerateConfig, stockfish: str, out: Path, quiet: bool = False,
             cluster: ClusterSpec = LOCAL) -> int:
    """Generate ``config.positions`` labelled positions into ``out`` (resuming what is there).

    Returns the number of positions on disk at the end.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; a dataset is a directory of shards")
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(out.glob("sf-w*.npz")):  # a damaged shard stops us here, named
        read_shard(path)
    if cluster.backend == "local":
        run_workers(_worker, (config, stockfish, out), config.workers, config.positions, quiet)
    else:  # each shard a unit on the cluster, written here: the same shards as locally
        fill_streams_on_cluster(
            _streams(config, out), cluster, lambda path: len(read_shard(path)),
            lambda worker, index, wanted: (label_shard_unit,
                                           (config, stockfish, worker, index, wanted)),
            _write, quiet)
    return sum(len(read_shard(path)) for path in sorted(out.glob("sf-w*.npz")))
