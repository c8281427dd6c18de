"""Strength of the NNUE engine (``nnue-uci``): matches, and Win At Chess at 1 s a position.

Matches from the project's balanced openings (benchmarks/openings.fen), each opening played
twice with colours swapped, 2 games at once, against: the classical minizero engine (the same
searcher with the hand-written evaluation: what the net adds), sunfish, and Stockfish 15.1 with
``UCI_LimitStrength`` at ``UCI_Elo`` 1500 and 1800 (default Move Overhead: the match runner's
latency grace covers a loaded machine; rows measured with ``Move Overhead 300`` say so in the
time handicap column).
Each row gives W/D/L for the NNUE engine, Elo with a 95% interval, forfeits, and the verdict
of an SPRT of H0: Elo <= 0 against H1: Elo >= 100 (alpha = beta = 0.05) where it has decided.
Win At Chess runs the NNUE engine and the classical one alternately, position by position.
Results are written after each match.

Every row is computed from the match's PGN (benchmarks/results/nnue_match_<opponent>.pgn, one
game appended as it ends), so a match cut short still reports the games it finished:
MINIZERO_BENCH_SUMMARIZE=1 rebuilds the table from the PGNs without playing;
MINIZERO_BENCH_MORE=1 plays MINIZERO_BENCH_GAMES more games of a match whose PGN exists (the
openings shuffled with another seed) and appends them.

Run: ``make bench BENCH=nnue_match``. Environment: MINIZERO_BENCH_GAMES (default 200),
MINIZERO_BENCH_TC (default 10+0.1), MINIZERO_NNUE_NET (default: the engine's default net),
MINIZERO_BENCH_MATCHES (default classical,sunfish,stockfish1500,stockfish1800,wac),
MINIZERO_BENCH_POSITIONS (WAC: the first N),
MINIZERO_BENCH_ADJUDICATE=1 (see ``common.adjudication``).
Rows and PGNs are kept per net (benchmarks/results/nnue_match_<net>_<opponent>.pgn).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import chess
import chess.engine
import chess.pgn

from benchmarks.common import (
    RESULTS,
    adjudication,
    markdown_table,
    solve_epd,
    time_handicap_text,
    write_results,
)
from minizero.chessgame.commands import parse_time_control
from minizero.chessgame.match import EngineSpec, GameRecord, MatchConfig, MatchResult, run_match
from minizero.chessgame.openings import read_openings
from minizero.elo import sprt_llr, sprt_verdict
from minizero.peers import find_stockfish, find_sunfish
from nnue.engine import SHIPPED_NET

OPENINGS = Path(__file__).resolve().parent / "openings.fen"
WAC = Path(__file__).resolve().parents[2] / "shared" / "data" / "wac.epd"
SPRT = (0.0, 100.0, 0.05, 0.05)


def net_file() -> Path:
    """The net the NNUE engine plays with: MINIZERO_NNUE_NET, or ``nnue-uci``'s default."""
    return Path(os.environ.get("MINIZERO_NNUE_NET", SHIPPED_NET)).resolve()


def nnue_engine() -> EngineSpec:
    """``nnue-uci`` with ``net_file()``, named after the net."""
    options = (("EvalFile", str(net_file())),) if "MINIZERO_NNUE_NET" in os.environ else ()
    return EngineSpec(f"nnue({net_file().stem})", (sys.executable, "-m", "nnue.engine"), options)


def opponents() -> dict[str, EngineSpec]:
    def stockfish(elo: int) -> EngineSpec:
        return EngineSpec.parse(find_stockfish(), ["UCI_LimitStrength=true", f"UCI_Elo={elo}"])

    return {"classical": EngineSpec.parse("minizero"),
            "sunfish": EngineSpec("sunfish", (find_sunfish(),)),
            "stockfish1500": stockfish(1500), "stockfish1800": stockfish(1800)}


def summarize(pgn_path: Path, ours: str, opponent: EngineSpec, tc: str) -> dict[str, object]:
    """The row of one match from its PGN: W/D/L for ``ours``, Elo, forfeits, SPRT."""
    result = MatchResult(ours, opponent.name, time_handicap={
        ours: "", opponent.name: opponent.time_handicap()})
    with pgn_path.open() as handle:
        while (game := chess.pgn.read_game(handle)) is not None:
            headers = game.headers
            result.games.append(GameRecord(len(result.games), headers["White"],
                                           headers["Black"], headers["Result"],
                                           headers.get("Termination", ""), "", 0))
    wins, draws, losses = result.wins, result.draws, result.losses
    return {"tc": tc, **result.summary(),
            "sprt": {"elo0": SPRT[0], "elo1": SPRT[1], "alpha": SPRT[2], "beta": SPRT[3],
                     "llr": sprt_llr(wins, draws, losses, *SPRT[:2]),
                     "verdict": sprt_verdict(wins, draws, losses, SPRT)}}


def win_at_chess(seconds: float, count: int | None) -> dict[str, object]:
    """Positions of wac.epd solved by each engine of the package, alternating position by
    position: the NNUE engine with our net, the classical one, and (where Stockfish is
    installed) the NNUE engine with Stockfish 15.1's net."""
    specs = {nnue_engine().name: nnue_engine(), "classical": EngineSpec.parse("minizero")}
    try:
        find_stockfish()
        specs["stockfish-net"] = EngineSpec(
            "stockfish-net", (sys.executable, "-m", "nnue.engine", "--net", "stockfish"))
    except FileNotFoundError:
        pass
    return solve_epd(specs, WAC, seconds, count)


def main() -> None:
    games = int(os.environ.get("MINIZERO_BENCH_GAMES", "200"))
    tc = os.environ.get("MINIZERO_BENCH_TC", "10+0.1")
    base, increment = parse_time_control(tc)
    wanted = os.environ.get("MINIZERO_BENCH_MATCHES",
                            "classical,sunfish,stockfish1500,stockfish1800,wac").split(",")
    previous = RESULTS / "nnue_match.json"
    payload = json.loads(previous.read_text()) if previous.exists() else {}
    matches, wac = payload.get("matches", {}), payload.get("wac")
    ours = nnue_engine()
    summarize_only = os.environ.get("MINIZERO_BENCH_SUMMARIZE") == "1"
    net = net_file().stem
    for key, opponent in opponents().items():
        pgn = RESULTS / f"nnue_match_{net}_{key}.pgn"
        row = f"{net} vs {key}"
        if summarize_only:
            if pgn.exists():
                before = matches.get(row, {})
                matches[row] = summarize(pgn, ours.name, opponent, before.get("tc", tc))
                matches[row]["adjudication"] = before.get("adjudication")
            continue
        if key not in wanted:
            continue
        more = os.environ.get("MINIZERO_BENCH_MORE") == "1" and pgn.exists()
        played = summarize(pgn, ours.name, opponent, tc)["games"] if more else 0
        config = MatchConfig(games=games, base_time=base, increment=increment, concurrency=2,
                             seed=played, **adjudication())
        RESULTS.mkdir(parents=True, exist_ok=True)
        part = pgn.with_name(pgn.name + ".part") if more else pgn
        run_match(ours, opponent, read_openings(OPENINGS), config,
                  progress=sys.stderr.isatty(), pgn_path=part)
        if more:
            with pgn.open("a") as handle:
                handle.write(part.read_text())
            part.unlink()
        matches[row] = summarize(pgn, ours.name, opponent, tc)
        matches[row]["adjudication"] = adjudication() or None
        _write(matches, wac)
    if summarize_only:
        _write(matches, wac)
        return
    if "wac" in wanted and WAC.exists():
        count = os.environ.get("MINIZERO_BENCH_POSITIONS")
        wac = win_at_chess(1.0, int(count) if count else None)
        _write(matches, wac)


def _write(matches: dict, wac: dict | None) -> None:
    rows = []
    for match in matches.values():
        forfeits = match["forfeits"]
        sprt = match["sprt"]
        rows.append([
            match["engine1"], match["engine2"], match["tc"], match["games"],
            "yes" if match.get("adjudication") else "no",
            f"{match['wins']}/{match['draws']}/{match['losses']}", f"{match['score']:.3f}",
            f"{match['elo']:+.0f} [{match['elo_low']:+.0f}, {match['elo_high']:+.0f}]",
            f"{sprt['llr']:.2f}, {sprt['verdict'] or 'undecided'}",
            _forfeit_text(forfeits[match["engine1"]]), _forfeit_text(forfeits[match["engine2"]]),
            time_handicap_text(match),
        ])
    table = markdown_table(
        ["engine", "opponent", "tc", "games", "adjudicated", "W/D/L (nnue)", "score",
         "Elo (95%)",
         "SPRT [0, 100] LLR", "nnue forfeits", "opponent forfeits", "time handicap"], rows)
    if wac:
        solved = wac["solved"]
        table += (f"\n\nWin At Chess ({wac['positions']} positions, "
                  f"{wac['seconds_per_position']:g} s each, alternating): "
                  + ", ".join(f"{name} {count}" for name, count in solved.items()))
    write_results("nnue_match", {"matches": matches, "wac": wac}, table)


def _forfeit_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in counts.items()) or "0"


if __name__ == "__main__":
    main()
