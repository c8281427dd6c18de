"""Relabelling stored positions with a deeper (or shallower) Stockfish search.

Idea: the label's depth and the number of positions are the two things a labelling budget buys.
To tell them apart, the same positions are labelled at two depths: only the label changes, so a
difference in the trained nets is the label's doing. The held-out test positions are also
relabelled much deeper than any training label, so every net is graded against the same better
teacher. Scores are centipawns from the side to move; a mate found by the deeper search is kept
as +-SCORE_LIMIT (such positions are rare among quiet ones). The game results stay as stored.

The stored position has no castling rights or en-passant square (``nnue.data.decode_board``), so
the relabelling search does not see them either.

Reference: the Stockfish trainers' ``rescore`` tools (relabel a dataset with a stronger search).
Command: ``nnue relabel --data data/sf-d8 --out data/sf-d8-as-d6 --depth 6``.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np

from minizero.cluster import LOCAL, ClusterSpec, Units
from nnue.data import (
    SCORE_LIMIT,
    Positions,
    UciEngine,
    decode_board,
    read_shard,
    shard_paths,
    write_shard,
)

CHUNK = 250  # positions per task handed to a worker

_engine: UciEngine | None = None  # one Stockfish per worker process
_depth = 0


def _start_worker(stockfish: str, depth: int) -> None:
    global _engine, _depth
    _engine, _depth = UciEngine(stockfish), depth


def _label_chunk(chunk: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(n,) int16 scores of encoded positions (side to move), searched to the worker's depth."""
    pieces, side_to_move = chunk
    assert _engine is not None
    scores = np.empty(len(pieces), np.int16)
    for row, (board_pieces, turn) in enumerate(zip(pieces, side_to_move, strict=True)):
        fen = decode_board(board_pieces, int(turn)).fen()
        _engine.new_game()  # an empty hash table: a label depends on its position alone,
        score, _ = _engine.search([], _depth, None, fen=fen)  # not on which worker had which
        scores[row] = max(-SCORE_LIMIT, min(SCORE_LIMIT, score))
    return scores


def _label_chunk_unit(stockfish: str, depth: int, chunk: tuple[np.ndarray, np.ndarray]
                      ) -> np.ndarray:
    """``_label_chunk`` as a unit of work (``minizero.cluster``), with its own Stockfish."""
    global _engine
    _start_worker(stockfish, depth)
    try:
        return _label_chunk(chunk)
    finally:
        assert _engine is not None
        _engine.close()
        _engine = None


def relabel_positions(positions: Positions, stockfish: str, depth: int, workers: int = 2,
                      quiet: bool = True, cluster: ClusterSpec = LOCAL) -> Positions:
    """``positions`` with every score replaced by a Stockfish search at ``depth``; on a Ray
    ``cluster``, each chunk of positions a unit."""
    from tqdm import tqdm

    if depth < 1 or workers < 1:
        raise ValueError("--depth and --workers must be positive")
    chunks = [(positions.pieces[start:start + CHUNK], positions.side_to_move[start:start + CHUNK])
              for start in range(0, len(positions), CHUNK)]
    bar = tqdm(total=len(chunks), unit="chunk", disable=True if quiet else None)
    if cluster.backend == "local":
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers, initializer=_start_worker, initargs=(stockfish, depth)) as pool:
            scores = [bar.update() or labels for labels in pool.imap(_label_chunk, chunks)]
    else:
        by_chunk = {}
        with Units(cluster, workers) as units:
            for number, chunk in enumerate(chunks):
                units.submit(number, _label_chunk_unit, stockfish, depth, chunk)
            while units.running:
                number, by_chunk[number] = units.next_done()
                bar.update()
        scores = [by_chunk[number] for number in range(len(chunks))]
    bar.close()
    score = np.concatenate(scores) if scores else np.zeros(0, np.int16)
    return Positions(positions.pieces, positions.side_to_move, score, positions.result,
                     positions.game_id)


def relabel(sources: list[Path], out: Path, stockfish: str, depth: int, workers: int = 2,
            quiet: bool = False, cluster: ClusterSpec = LOCAL) -> int:
    """Relabel every shard of ``sources`` into ``out`` (same file names); resumable: a shard
    already in ``out`` is skipped. Returns the positions written by this call."""
    out = Path(out)
    written = 0
    for source in sources:
        for path in shard_paths(source):
            target = out / path.name
            if target.exists():
                continue
            relabelled = relabel_positions(read_shard(path), stockfish, depth, workers, quiet,
                                           cluster)
            write_shard(target, relabelled)
            written += len(relabelled)
    return written
