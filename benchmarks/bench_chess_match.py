"""Strength of minizero's classical engine: matches against sunfish and Stockfish.

Three matches from the project's own balanced openings (benchmarks/openings.fen, built by
``minizero openings``), each opening played twice with colours swapped, 2 games at once:
sunfish at 10+0.1, Stockfish 15.1 with UCI_LimitStrength at UCI_Elo 1350 at 10+0.1, and the
same Stockfish at 1+0.01 (the time-forfeit test; sunfish itself flags at 1+0.01: its search
checks the clock every 2048 nodes and thinks at least 200 ms, so ``sunfish_1`` is optional).
Reports W/D/L, score, Elo with a
95% interval, and every illegal move or time forfeit. Results are written after each match.
Run: ``make bench BENCH=chess_match`` (MINIZERO_BENCH_GAMES, default 100;
MINIZERO_BENCH_MATCHES to pick some of stockfish1350_1, sunfish_10, stockfish1350_10,
sunfish_1).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from benchmarks.common import RESULTS, markdown_table, write_results
from minizero.arena import EngineSpec, MatchConfig, read_openings, run_match
from minizero.peers import find_stockfish, find_sunfish

OPENINGS = Path(__file__).resolve().parent / "openings.fen"


def matches() -> dict[str, tuple[EngineSpec, float, float]]:
    sunfish = EngineSpec("sunfish", (find_sunfish(),))
    stockfish = EngineSpec.parse(find_stockfish(), ["UCI_LimitStrength=true", "UCI_Elo=1350"])
    return {
        "stockfish1350_1": (stockfish, 1.0, 0.01),
        "sunfish_10": (sunfish, 10.0, 0.1),
        "stockfish1350_10": (stockfish, 10.0, 0.1),
        "sunfish_1": (sunfish, 1.0, 0.01),
    }


def main() -> None:
    games = int(os.environ.get("MINIZERO_BENCH_GAMES", "100"))
    wanted = os.environ.get("MINIZERO_BENCH_MATCHES",
                            "stockfish1350_1,sunfish_10,stockfish1350_10")
    openings = read_openings(OPENINGS)
    ours = EngineSpec.parse("minizero")
    previous = RESULTS / "chess_match.json"
    payload = json.loads(previous.read_text()).get("matches", {}) if previous.exists() else {}
    for key, (opponent, base, increment) in matches().items():
        if key not in wanted.split(","):
            continue
        config = MatchConfig(games=games, base_time=base, increment=increment, concurrency=2)
        pgn = RESULTS / f"chess_match_{key}.pgn"
        result = run_match(ours, opponent, openings, config, progress=sys.stderr.isatty(),
                           pgn_path=pgn)
        payload[key] = {"tc": f"{base:g}+{increment:g}", **result.summary()}
        write_results("chess_match", {"matches": payload}, _table(payload))


def _table(payload: dict) -> str:
    rows = []
    for match in payload.values():
        forfeits = match["forfeits"]
        rows.append([
            match["engine2"], match["tc"], match["games"],
            f"{match['wins']}/{match['draws']}/{match['losses']}", f"{match['score']:.3f}",
            f"{match['elo']:+.0f} [{match['elo_low']:+.0f}, {match['elo_high']:+.0f}]",
            _forfeit_text(forfeits[match["engine1"]]), _forfeit_text(forfeits[match["engine2"]]),
        ])
    return markdown_table(
        ["opponent", "tc", "games", "W/D/L (minizero)", "score", "Elo (95%)",
         "minizero forfeits", "opponent forfeits"], rows)


def _forfeit_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in counts.items()) or "0"
