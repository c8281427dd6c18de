"""Stockfish 15.1's net in minizero's search: speed against our own evaluators, and strength.

Speed: the same alpha-beta ``Searcher`` with three evaluators -- the classical one, our shipped
piece-square NNUE (nnue/nets/piece-square-256.nnue) and Stockfish 15.1's net -- searches the
same positions for the same node budget, interleaved position by position in one process; the
figure is nodes per CPU second of this process (CPU time, not wall time: the machine is
shared). Positions: Bratko-Kopec when ``../shared/data`` is there, else a few of our own.

Strength: ``nnue-uci --net stockfish`` against Stockfish 15.1 with ``UCI_LimitStrength``,
``UCI_Elo`` 1800 / 2000 and its default Move Overhead (the rows measured with ``Move Overhead``
300 say so in the time handicap column), colour-swapped openings from
benchmarks/openings.fen, one game at a time (MINIZERO_BENCH_MATCHES picks them, default none;
MINIZERO_BENCH_GAMES, default 100). A match played by ``minizero match --pgn FILE`` can be
summarised instead: MINIZERO_BENCH_SF15_PGN=KEY=FILE[,KEY=FILE] (the games it holds, even an
unfinished match).
Run: ``make bench BENCH=sf15``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import chess
import chess.pgn

from benchmarks.common import RESULTS, markdown_table, time_handicap_text, write_results
from minizero.chessgame.classical import ClassicalEvaluator
from minizero.chessgame.match import EngineSpec, MatchConfig, run_match
from minizero.chessgame.openings import read_openings
from minizero.chessgame.protocol import Limits
from minizero.chessgame.search import Searcher
from minizero.elo import elo_interval
from minizero.peers import find_stockfish

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OPENINGS = ROOT / "benchmarks" / "openings.fen"
OWN_NET = ROOT / "nnue" / "nets" / "piece-square-256.nnue"
OWN_POSITIONS = [
    chess.STARTING_FEN,
    "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
    "r2q1rk1/pp2bppp/2n1pn2/3p4/3P4/2NBPN2/PP3PPP/R2Q1RK1 w - - 0 10",
    "8/5k2/3p4/1p1Pp2p/pP2Pp1P/P4P1K/8/8 b - - 0 1",
]
OUR_ENGINE = f"{sys.executable} -m nnue.engine --net stockfish"


def positions() -> list[str]:
    path = SHARED / "bratko_kopec.epd"
    if path.exists():
        return [chess.Board.from_epd(line)[0].fen()
                for line in path.read_text().splitlines() if line.strip()]
    return OWN_POSITIONS


def speed(nodes: int) -> dict[str, dict[str, float]]:
    from nnue.evaluator import NnueEvaluator
    from nnue.kernel import load_kernel_net
    from nnue.sf15.evaluator import StockfishNnueEvaluator, warm_up
    from nnue.sf15.net import load_stockfish_net

    net = load_stockfish_net("stockfish")
    warm_up(net)
    own = load_kernel_net(OWN_NET)
    own.warm_up()
    makers = {"classical": ClassicalEvaluator,
              "own piece-square-256 NNUE": lambda: NnueEvaluator(own),
              "Stockfish 15.1 net": lambda: StockfishNnueEvaluator(net)}
    totals = {name: [0, 0.0] for name in makers}
    for fen in positions():
        for name, make in makers.items():  # interleaved: every engine sees the same load
            searcher = Searcher(make())
            started = time.process_time()
            result = searcher.search(chess.Board(fen), Limits(nodes=nodes))
            totals[name][0] += result.nodes
            totals[name][1] += time.process_time() - started
    return {name: {"nodes": count, "cpu_seconds": round(seconds, 2),
                   "nodes_per_cpu_second": round(count / seconds)}
            for name, (count, seconds) in totals.items()}


def _summarise_pgn(path: Path) -> dict[str, object]:
    wins = draws = losses = our_forfeits = 0
    with path.open() as handle:
        while (game := chess.pgn.read_game(handle)) is not None:
            result = game.headers["Result"]
            ours_white = "stockfish" not in game.headers["White"]
            termination = game.headers.get("Termination", "")
            our_forfeits += "forfeit" in termination and not termination.startswith("stockfish")
            if result == "1/2-1/2":
                draws += 1
            elif (result == "1-0") == ours_white and result in ("1-0", "0-1"):
                wins += 1
            elif result in ("1-0", "0-1"):
                losses += 1
    games = wins + draws + losses
    elo, low, high = elo_interval(wins, draws, losses)
    return {"games": games, "wins": wins, "draws": draws, "losses": losses,
            "score": (wins + 0.5 * draws) / games if games else None,
            "elo": elo, "elo_low": low, "elo_high": high, "our_time_forfeits": our_forfeits,
            "pgn": str(path)}


def matches(games: int, wanted: list[str]) -> dict[str, dict[str, object]]:
    from nnue.sf15.evaluator import warm_up
    from nnue.sf15.net import load_stockfish_net

    # The engine runs these same files: fill numba's cache now, or the first game's isready
    # (timed by the match as part of the first move) compiles the kernels and flags.
    warm_up(load_stockfish_net("stockfish"))
    ours = EngineSpec.parse(OUR_ENGINE)
    played = {}
    for key in wanted:
        elo = int(key.removeprefix("stockfish").split("_")[0])
        opponent = EngineSpec.parse(find_stockfish(), ["UCI_LimitStrength=true", f"UCI_Elo={elo}"])
        config = MatchConfig(games=games, base_time=10.0, increment=0.1, concurrency=1)
        result = run_match(ours, opponent, read_openings(OPENINGS), config,
                           progress=sys.stderr.isatty(), pgn_path=RESULTS / f"sf15_{key}.pgn")
        played[key] = {"tc": "10+0.1", **result.summary()}
    return played


def _table(payload: dict) -> str:
    rows = [[name, f"{row['nodes']:,}", row["cpu_seconds"], f"{row['nodes_per_cpu_second']:,}"]
            for name, row in payload["speed"].items()]
    text = markdown_table(["evaluator", "nodes", "CPU s", "nodes / CPU s"], rows)
    if payload.get("matches"):
        rows = [[key, row.get("tc", "10+0.1"), row["games"],
                 f"{row['wins']}/{row['draws']}/{row['losses']}", f"{row['score']:.3f}",
                 f"{row['elo']:+.0f} [{row['elo_low']:+.0f}, {row['elo_high']:+.0f}]",
                 row.get("our_time_forfeits", ""), time_handicap_text(row)]
                for key, row in payload["matches"].items()]
        text += "\n\n" + markdown_table(["opponent", "tc", "games", "W/D/L", "score",
                                         "Elo (95%)", "our time forfeits", "time handicap"],
                                        rows)
    return text


def main() -> None:
    previous = RESULTS / "sf15.json"
    payload = json.loads(previous.read_text()) if previous.exists() else {}
    payload.pop("benchmark", None)
    payload.pop("machine", None)
    payload["speed"] = speed(int(os.environ.get("MINIZERO_BENCH_NODES", "3000")))
    played = payload.setdefault("matches", {})
    for item in filter(None, os.environ.get("MINIZERO_BENCH_SF15_PGN", "").split(",")):
        key, _, path = item.partition("=")
        played[key] = {"tc": "10+0.1", **_summarise_pgn(Path(path))}
    wanted = [key for key in os.environ.get("MINIZERO_BENCH_MATCHES", "").split(",") if key]
    played.update(matches(int(os.environ.get("MINIZERO_BENCH_GAMES", "100")), wanted))
    write_results("sf15", payload, _table(payload))


if __name__ == "__main__":
    main()
