"""Supervised data for the chess network: positions of Stockfish games, labelled by Stockfish.

Each game opens with a few uniformly random moves (varied openings), then Stockfish plays both
sides at a fixed depth, with an occasional random move. With ``weak_side_random`` above 0, one side
of each game (White in even games, Black in odd ones) plays a uniformly random move that often
instead: lopsided games, won positions that must be converted (mates, and stalemates and
repetitions to avoid), which balanced games between equals rarely reach. With a
``strong_side_net``, the other side plays that network's raw policy (its favourite legal move;
against Stockfish's moves when ``weak_side_random`` is 0) while Stockfish still labels every
position: the positions the network itself reaches, with the teacher's move as the target (DAgger:
Ross, Gordon and Bagnell, AISTATS 2011, "dataset aggregation"). Stockfish sees each game's moves,
so its labels avoid repetitions and stalemates that the network's own play walks into. With
``only_unwon_games`` as well, games are played out and only the network's own positions of the
games it did not win are kept: the few positions where its policy goes wrong, not diluted by the
many games it wins (the random side is not searched, so a kept position costs about one search).

Every position after the opening is kept with the input planes (history included), Stockfish's best
move there (the policy target), its score in centipawns and the game's result, both from the side
to move. The search that chooses a move also labels its position, so a labelled position costs one
Stockfish search. Games whose score stays beyond ``adjudicate_score`` for ``adjudicate_plies``
plies are scored as won; with ``adjudicate_plies = 0`` every game is played to its end, so the data
shows how to mate.

Shards (``minizero.shards``: npz, no pickle, atomic writes), version 1, N positions:

    bits    uint8  (N, 8 C)  input planes packed by `encoding.pack_planes` (C planes, T history)
    clock   uint8  (N,)      halfmove clock (the fifty-move plane)
    move    int16  (N,)      Stockfish's move as a policy index (side-to-move view)
    score   int16  (N,)      Stockfish's score, centipawns from the side to move (mates +-30000)
    result  int8   (N,)      the game's result from the side to move: 1, 0, -1
    game_id int64  (N,)      positions of one game share it (held-out sets split by game)
    fen     str    (N,)      the position (for grading against Stockfish and for tests)

Each worker writes ``az-wWW-SSSSS.npz`` shards; a restarted run counts what is there and goes on
with fresh seeds, so kill -9 loses at most the shard in progress.

Command: ``minizero chessdata --out /work/data/az --positions 100000 --depth 8``.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np
import torch

from minizero import shards
from minizero.agents import network_agent
from minizero.chessgame import encoding
from minizero.chessgame.game import ChessGame, ChessState
from minizero.chessgame.stockfish import MATE_SCORE, UciEngine
from minizero.cluster import LOCAL, ClusterSpec
from minizero.lifeline import run_workers
from minizero.nn.network import load_network
from minizero.rundir import check_empty

SHARD_FORMAT = b"minizero-chess-az-positions"
SHARD_VERSION = 1
SCORE_LIMIT = 30000


def schema(history: int) -> shards.Schema:
    return {"bits": (np.uint8, (encoding.plane_count(history) * 8,)), "clock": (np.uint8, ()),
            "move": (np.int16, ()), "score": (np.int16, ()), "result": (np.int8, ()),
            "game_id": (np.int64, ()), "fen": (np.str_, ())}


@dataclass(frozen=True)
class ChessDataConfig:
    """How the labelled games are played."""

    positions: int = 100_000  # positions to produce, all workers together
    depth: int = 8  # Stockfish depth per move (label and move)
    workers: int = 2  # processes, one Stockfish each
    history: int = encoding.DEFAULT_HISTORY  # T of the stored planes
    random_plies_min: int = 2  # each game opens with this many to random_plies_max random moves
    random_plies_max: int = 8
    random_move_probability: float = 0.05  # later on, a random move this often
    weak_side_random: float = 0.0  # one side of each game plays a random move this often
    strong_side_net: str | None = None  # the other side plays this network's raw policy
    only_unwon_games: bool = False  # keep only the network's positions of games it did not win
    adjudicate_score: int = 1000
    adjudicate_plies: int = 6  # 0: never adjudicate
    max_plies: int = 300  # longer games are draws
    shard_size: int = 2_000
    seed: int = 0

    def __post_init__(self) -> None:
        """Checked in the parent, so that no worker fails on a setting."""
        for name in ("positions", "depth", "workers", "shard_size", "max_plies"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed must be at least 0, got {self.seed}")
        ChessGame(self.history, self.max_plies)  # history=T within the encoding's range
        if self.only_unwon_games and (self.strong_side_net is None or self.weak_side_random < 1
                                      or self.adjudicate_plies):
            raise ValueError("only_unwon_games needs strong_side_net, weak_side_random = 1 and "
                             "adjudicate_plies = 0")


def play_labelled_game(engine: UciEngine, config: ChessDataConfig, rng: random.Random,
                       weak_side: chess.Color = chess.WHITE,
                       strong_policy: Callable[[ChessState], int] | None = None,
                       ) -> list[tuple[np.ndarray, int, int, str]]:
    """One game; its positions as (planes, move index, score, fen) and the result last.
    ``weak_side`` plays a random move with probability ``config.weak_side_random``; the other
    side plays ``strong_policy``'s action (from the network's raw policy) when it is given,
    else Stockfish's move."""
    game = ChessGame(config.history, config.max_plies)
    state = game.initial_state()
    moves: list[str] = []
    engine.new_game()
    for _ in range(rng.randint(config.random_plies_min, config.random_plies_max)):
        if game.terminal_value(state) is not None:
            return []
        move = rng.choice(list(state.moves.values()))
        state = state.child(move)
        moves.append(move.uci())
    rows = []
    white_result = 0
    streak = 0
    while (value := game.terminal_value(state)) is None:
        if config.only_unwon_games and state.board.turn == weak_side:  # a row nobody keeps
            move = rng.choice(list(state.moves.values()))
            state = state.child(move)
            moves.append(move.uci())
            continue
        score, best_uci = engine.search(moves, config.depth, None)
        best = chess.Move.from_uci(best_uci)
        turn = state.board.turn
        rows.append((game.encode(state), encoding.move_to_index(best, turn),
                     max(-SCORE_LIMIT, min(SCORE_LIMIT, score)), state.board.fen(), turn))
        white_score = score if turn == chess.WHITE else -score
        if abs(white_score) >= config.adjudicate_score:
            sign = 1 if white_score > 0 else -1
            streak = streak + sign if streak * sign > 0 else sign
        else:
            streak = 0
        if config.adjudicate_plies and abs(streak) >= config.adjudicate_plies:
            white_result = 1 if streak > 0 else -1
            break
        random_probability = config.random_move_probability
        if turn == weak_side:
            random_probability = max(random_probability, config.weak_side_random)
        if rng.random() < random_probability:
            best = rng.choice(list(state.moves.values()))
        elif turn != weak_side and strong_policy is not None:
            best = game.move(state, strong_policy(state))
        state = state.child(best)
        moves.append(best.uci())
    if value is not None and value != 0:  # checkmate: the side to move lost
        white_result = -1 if state.board.turn == chess.WHITE else 1
    if config.only_unwon_games and white_result == (1 if weak_side == chess.BLACK else -1):
        return []  # the network won: nothing to correct
    return [(planes, move, score, fen, white_result if turn == chess.WHITE else -white_result)
            for planes, move, score, fen, turn in rows]


def strong_side_policy(config: ChessDataConfig) -> Callable[[ChessState], int] | None:
    """The raw policy of ``config.strong_side_net`` (None without one); ValueError naming the
    file when it is not a chess network of this history."""
    if config.strong_side_net is None:
        return None
    game = ChessGame(config.history, config.max_plies)
    return network_agent(game, load_network(config.strong_side_net, game.input_shape,
                                            game.action_size))


def _worker(worker: int, config: ChessDataConfig, stockfish: str, out: Path,
            deadline: float | None, progress: multiprocessing.Queue) -> None:
    torch.set_num_threads(1)
    streams = _streams(config, out)
    share = streams.share(worker)
    existing = streams.existing(worker)
    done = sum(len(read_shard(path, config.history)["move"]) for path in existing)
    progress.put(done)
    engine = UciEngine(stockfish)
    shard_index = len(existing)
    strong_policy = strong_side_policy(config)

    def running(labelled: int) -> bool:
        # Past the deadline a worker that has labelled nothing yet still finishes one game, so
        # that a time-boxed phase on a loaded machine never leaves the trainer empty-handed.
        return deadline is None or time.time() < deadline or labelled == 0

    try:
        while done < share and running(done):
            arrays = label_shard(engine, config, worker, shard_index, share - done,
                                 strong_policy, lambda rows, done=done: running(done + rows),
                                 progress.put)
            if arrays is None:
                break
            write_shard(streams.path(worker, shard_index), arrays, config.history)
            done += len(arrays["move"])
            shard_index += 1
    finally:
        engine.close()


def _streams(config: ChessDataConfig, out: Path) -> shards.Streams:
    """Where each worker's shards go: ``az-wWW-SSSSS.npz``."""
    return shards.Streams(out, "az", config.positions, config.workers)


def label_shard(engine: UciEngine, config: ChessDataConfig, worker: int, shard_index: int,
                wanted: int, strong_policy: Callable[[ChessState], int] | None,
                running: Callable[[int], bool] = lambda rows: True,
                on_game: Callable[[int], None] = lambda rows: None,
                ) -> dict[str, np.ndarray] | None:
    """Shard ``shard_index`` of ``worker``: whole games until it holds ``config.shard_size``
    positions (or ``wanted``, if fewer), while ``running(rows so far)``; None if no game ended.
    Its games depend only on the seed, the worker and the shard index (a fresh random stream,
    and ``ucinewgame`` before each game), so a shard is the same wherever it is labelled."""
    rng = random.Random(f"{config.seed}-{worker}-{shard_index}")  # fresh after resume
    rows: list[tuple] = []
    game_number = 0
    while len(rows) < min(config.shard_size, wanted) and running(len(rows)):
        # 15 bits of the seed: an id fits in int64 whatever the seed.
        game_id = ((config.seed & 0x7FFF) << 48 | (worker << 40) | (shard_index << 20)
                   | game_number)
        weak_side = chess.WHITE if game_number % 2 == 0 else chess.BLACK
        game_rows = play_labelled_game(engine, config, rng, weak_side, strong_policy)
        rows.extend((*row, game_id) for row in game_rows)
        game_number += 1
        on_game(len(game_rows))
    if not rows:
        return None
    planes = np.stack([row[0] for row in rows])
    bits, clocks = encoding.pack_planes(planes, config.history)
    return {"bits": bits, "clock": clocks,
            "move": np.array([row[1] for row in rows]),
            "score": np.array([row[2] for row in rows]),
            "fen": np.array([row[3] for row in rows]),
            "result": np.array([row[4] for row in rows]),
            "game_id": np.array([row[5] for row in rows])}


def label_shard_unit(config: ChessDataConfig, stockfish: str, worker: int, shard_index: int,
                     wanted: int) -> dict[str, np.ndarray] | None:
    """``label_shard`` as a unit of work (``minizero.cluster``), with its own Stockfish."""
    torch.set_num_threads(1)
    engine = UciEngine(stockfish)
    try:
        return label_shard(engine, config, worker, shard_index, wanted,
                           strong_side_policy(config))
    finally:
        engine.close()


def _generate_on_cluster(config: ChessDataConfig, stockfish: str, out: Path, cluster: ClusterSpec,
                         quiet: bool) -> None:
    """The shards the local workers would write, each a unit on ``cluster``."""
    def write(path: Path, arrays: dict[str, np.ndarray]) -> int:
        write_shard(path, arrays, config.history)
        return len(arrays["move"])

    shards.fill_streams_on_cluster(
        _streams(config, out), cluster, lambda path: len(read_shard(path, config.history)["move"]),
        lambda worker, index, wanted: (label_shard_unit,
                                       (config, stockfish, worker, index, wanted)),
        write, quiet)


def write_shard(path: Path, arrays: dict[str, np.ndarray], history: int) -> None:
    shards.write_shard(path, SHARD_FORMAT, SHARD_VERSION, arrays, schema(history))


def _stored_history(path: Path) -> int | None:
    """T of a shard's packed planes, or None if that cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            width = arrays["bits"].shape[1]
    except Exception:  # noqa: BLE001 - any unreadable file: read_shard's own error stands
        return None
    return encoding.history_of(width // 8) if width % 8 == 0 else None


def read_shard(path: Path, history: int) -> dict[str, np.ndarray]:
    """One shard's arrays; ValueError naming the file if it is corrupt, foreign or of another
    history length."""
    try:
        arrays = shards.read_shard(path, SHARD_FORMAT, SHARD_VERSION, schema(history),
                                   "minizero chess position")
    except ValueError:
        stored = _stored_history(path)
        if stored is not None and stored != history:  # say so in the user's words
            raise ValueError(f"{path}: positions with history={stored}, not the {history} "
                             "asked for (--game chess:history=T)") from None
        raise
    if len(arrays["move"]) and (arrays["move"].min() < 0
                                or arrays["move"].max() >= encoding.ACTION_SIZE):
        raise ValueError(f"{path}: move indices outside the policy map")
    for name, limit in (("result", 1), ("score", SCORE_LIMIT)):
        outside = np.abs(arrays[name].astype(np.int64)) > limit
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ValueError(f"{path}: row {row}: {name} {arrays[name][row]} is outside "
                             f"[-{limit}, {limit}]")
    return arrays


def generate(config: ChessDataConfig, stockfish: str, out: Path, quiet: bool = False,
             deadline: float | None = None, cluster: ClusterSpec = LOCAL) -> int:
    """Produce ``config.positions`` positions in ``out``, resuming what is there; returns the
    number on disk at the end. With ``deadline`` (a ``time.time()``), workers start no new game
    after it and write what they have (a time-boxed labelling phase, as in ``minizero compare``);
    a worker that has labelled nothing yet still finishes its first game. On a Ray ``cluster``
    each shard is a unit, labelled by a worker and written here: the same shards as locally.
    """
    strong_side_policy(config)  # a bad network file is named here, not in a worker
    out = Path(out)
    check_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(out.glob("az-w*.npz")):  # a damaged shard stops us here, named
        read_shard(path, config.history)
    if cluster.backend == "local":
        run_workers(_worker, (config, stockfish, out, deadline), config.workers,
                    config.positions, quiet)
    elif deadline is not None:
        raise ValueError("a time-boxed labelling phase runs on this machine only")
    else:
        _generate_on_cluster(config, stockfish, out, cluster, quiet)
    return sum(len(read_shard(path, config.history)["move"])
               for path in sorted(out.glob("az-w*.npz")))


def check_folder(out: Path) -> None:
    """ValueError unless ``out`` is new, empty or holds chess data already (to go on with)."""
    if not any(Path(out).glob("az-w*.npz")):
        check_empty(out, "chess data")


def mate_free(score: np.ndarray) -> np.ndarray:
    """True where the score is a centipawn score, not a mate report."""
    return np.abs(score.astype(np.int32)) < MATE_SCORE

