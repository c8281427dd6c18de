"""The match runner: forfeits by misbehaving fake engines, and short real matches (ours against
itself, sunfish and Stockfish when installed). The statistics are held in test_elo.py."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import chess
import chess.pgn
import pytest

from minizero import cli
from minizero.chessgame.commands import parse_time_control
from minizero.chessgame.match import (
    EngineSpec,
    EngineStartError,
    GameRecord,
    MatchConfig,
    MatchResult,
    run_match,
)
from minizero.chessgame.openings import read_openings

OPENINGS = [
    chess.STARTING_FEN,
    "rnbqkb1r/pppp1ppp/5n2/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3",
]
FAST = dict(nodes=150, base_time=None, resign_score=600, resign_moves=2, draw_score=30,
            draw_moves=4, draw_after=20)


def test_results_are_tallied_for_engine_one_whatever_its_colour() -> None:
    def game(white: str, result: str) -> GameRecord:
        black = "b" if white == "a" else "a"
        return GameRecord(0, white, black, result, "checkmate", "", 40)

    games = [game("a", "1-0"), game("b", "1-0"), game("a", "1/2-1/2"), game("b", "0-1"),
             game("b", "1/2-1/2")]
    match = MatchResult("a", "b", games)
    assert (match.wins, match.draws, match.losses) == (2, 2, 1)
    summary = match.summary()
    assert summary["score"] == 0.6 and summary["games"] == 5


def test_time_control_and_engine_spec_parsing() -> None:
    assert parse_time_control("10+0.1") == (10.0, 0.1)
    assert parse_time_control("60") == (60.0, 0.0)
    for bad in ("fast", "0+1", "10+-1"):
        with pytest.raises(ValueError):
            parse_time_control(bad)
    spec = EngineSpec.parse("/usr/games/stockfish", ["UCI_LimitStrength=true", "UCI_Elo=1350"])
    assert spec.command == ("/usr/games/stockfish",)
    assert spec.options == (("UCI_LimitStrength", "true"), ("UCI_Elo", "1350"))
    assert "UCI_Elo=1350" in spec.name
    with pytest.raises(ValueError):
        EngineSpec.parse("x", ["novalue"])


def test_read_openings(tmp_path: Path) -> None:
    path = tmp_path / "openings.fen"
    path.write_text(f"# a comment\n{OPENINGS[1]}\n\nrnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/"
                    "RNBQKBNR b KQkq - bm e5;\n")
    fens = read_openings(path)
    assert fens[0] == OPENINGS[1] and len(fens) == 2
    path.write_text("not a fen\n")
    with pytest.raises(ValueError, match="openings.fen:1"):
        read_openings(path)


def minizero() -> EngineSpec:
    return EngineSpec.parse("minizero")


def fake_engine(tmp_path: Path, name: str, on_go: str) -> EngineSpec:
    """A tiny UCI engine whose answer to 'go' is the Python statement ``on_go``."""
    script = tmp_path / f"{name}.py"
    script.write_text(
        "import sys, time\n"
        "for line in sys.stdin:\n"
        "    word = line.split()[0] if line.split() else ''\n"
        "    if word == 'uci': print('id name fake'); print('uciok', flush=True)\n"
        "    elif word == 'isready': print('readyok', flush=True)\n"
        f"    elif word == 'go':\n        {on_go}\n"
        "    elif word == 'quit': break\n"
    )
    return EngineSpec(name, (sys.executable, str(script)))


@pytest.mark.parametrize(
    ("name", "on_go", "termination"),
    [
        ("illegal", "print('bestmove e2e5', flush=True)", "illegal illegal move"),
        ("garbage", "print('bestmove zz', flush=True)", "garbage illegal move"),
        ("crasher", "sys.exit(3)", "crasher crash"),
        ("sleeper", "time.sleep(30)", "sleeper time forfeit (no answer)"),
        ("slow", "time.sleep(0.6); print('bestmove e2e4', flush=True)", "slow time forfeit"),
    ],
)
def test_forfeits_are_recorded_as_losses(
    tmp_path: Path, name: str, on_go: str, termination: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("minizero.chessgame.uci_game.SEARCH_GRACE", 0.5)
    config = MatchConfig(games=1, base_time=0.4, increment=0.0)
    result = run_match(fake_engine(tmp_path, name, on_go), minizero(), [chess.STARTING_FEN],
                       config)
    game = result.games[0]
    assert game.result == "0-1" and game.termination == termination
    assert result.losses == 1 and result.forfeits(name)


def test_engine_that_cannot_start_is_named(tmp_path: Path) -> None:
    with pytest.raises(EngineStartError, match="no-such-engine-xyz"):
        run_match(EngineSpec.parse("no-such-engine-xyz"), minizero(), OPENINGS,
                  MatchConfig(games=1, **FAST))
    quitter = EngineSpec("quitter", (sys.executable, "-c", "pass"))
    with pytest.raises(EngineStartError, match="quitter"):
        run_match(minizero(), quitter, OPENINGS, MatchConfig(games=1, **FAST))
    with pytest.raises(EngineStartError, match="bad option"):
        run_match(EngineSpec.parse("minizero", ["Hash=0"]), minizero(), OPENINGS,
                  MatchConfig(games=1, **FAST))


@pytest.mark.slow
def test_self_match_swaps_colours_and_writes_pgn(tmp_path: Path) -> None:
    pgn = tmp_path / "games.pgn"
    config = MatchConfig(games=4, **FAST)
    result = run_match(minizero(), EngineSpec.parse("minizero", ["Hash=8"]), OPENINGS, config,
                       pgn_path=pgn)
    assert len(result.games) == 4
    assert [game.white for game in result.games] == [result.engine1, result.engine2] * 2
    assert result.wins + result.draws + result.losses == 4
    assert not result.forfeits(result.engine1) and not result.forfeits(result.engine2)
    with pgn.open() as handle:
        games = [chess.pgn.read_game(handle) for _ in range(4)]
    ordered = sorted(games, key=lambda g: int(g.headers["Round"]))
    for game, record in zip(ordered, result.games, strict=True):
        assert game.headers["Result"] == record.result
        board = game.end().board()
        assert board.ply() >= 1


def test_cli_match_reports(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["match", "minizero", "minizero", "--games", "2", "--nodes", "100",
                     "--resign", "600,2", "--draw", "20,30,4", "--quiet", "--sprt", "0,50",
                     "--option2", "Move Overhead=300", "--option1", "Move Overhead=50"])
    out = capsys.readouterr().out
    assert code == 0
    assert "W/D/L" in out and "Elo" in out and "SPRT [0, 50]" in out
    # engine 2 gave up time; engine 1's setting is its default (50 ms): no handicap
    assert "time handicap of minizero(Move Overhead=300): Move Overhead=300" in out
    assert out.count("time handicap") == 1


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["match", "no-such-engine-xyz", "minizero", "--nodes", "10"]) == 2
    error = capsys.readouterr().err
    assert "no-such-engine-xyz" in error and error.count("\n") == 1
    assert cli.main(["match", "minizero", "minizero", "--tc", "soon"]) == 2
    assert "time control" in capsys.readouterr().err
    assert cli.main(["match", "minizero", "minizero", "--openings", "/no/such/file.fen"]) == 2
    assert "/no/such/file.fen" in capsys.readouterr().err
    assert cli.main(["openings", "--out", "/tmp/x.fen", "--stockfish", "/no/stockfish"]) == 2
    assert "Stockfish not found at /no/stockfish" in capsys.readouterr().err


@pytest.mark.slow
def test_short_match_against_sunfish(sunfish_command: str) -> None:
    config = MatchConfig(games=2, **FAST)
    result = run_match(minizero(), EngineSpec.parse(sunfish_command), OPENINGS, config)
    assert len(result.games) == 2 and not result.forfeits("minizero")
    assert all(game.result in ("1-0", "0-1", "1/2-1/2") for game in result.games)


@pytest.mark.slow
def test_short_match_against_stockfish(stockfish_path: str) -> None:
    stockfish = EngineSpec.parse(stockfish_path, ["UCI_LimitStrength=true", "UCI_Elo=1350"])
    result = run_match(minizero(), stockfish, OPENINGS, MatchConfig(games=2, **FAST))
    assert len(result.games) == 2 and not result.forfeits("minizero")
    assert all(game.result in ("1-0", "0-1", "1/2-1/2") for game in result.games)


def test_openings_command_writes_balanced_positions(
    stockfish_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "openings.fen"
    code = cli.main(["openings", "--count", "3", "--plies", "4", "--depth", "6", "--window",
                     "80", "--out", str(out), "--stockfish", stockfish_path, "--quiet"])
    assert code == 0 and "wrote 3 openings" in capsys.readouterr().out
    fens = read_openings(out)
    assert len(fens) == 3 and len(set(fens)) == 3
    assert all(chess.Board(fen).ply() == 4 for fen in fens)  # four random half-moves
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("on_go", "grace", "charged_low", "charged_high"),
    [
        # no search time reported: all of the elapsed time counts as latency, up to the grace
        ("time.sleep(0.2); print('bestmove e2e4', flush=True)", 0.3, 0.0, 0.05),
        ("time.sleep(0.2); print('bestmove e2e4', flush=True)", 0.0, 0.19, 0.4),
        # 190 ms reported as search: only the rest is latency, whatever the grace
        ("time.sleep(0.2); print('info depth 1 time 190'); print('bestmove e2e4', flush=True)",
         0.3, 0.17, 0.4),
    ],
)
def test_latency_grace_is_not_charged_to_the_clock(
    tmp_path: Path, on_go: str, grace: float, charged_low: float, charged_high: float,
) -> None:
    config = MatchConfig(games=1, base_time=2.0, increment=0.0, latency_grace=grace)
    result = run_match(fake_engine(tmp_path, "waiter", on_go), minizero(),
                       [chess.STARTING_FEN], config)
    record = result.games[0]
    first = chess.pgn.read_game(io.StringIO(record.pgn)).next()
    charged = 2.0 - first.clock()
    assert charged_low <= charged <= charged_high
    measured = result.summary()["latency_ms"]["waiter"]
    if "info" in on_go:
        assert measured is not None and measured["max"] < 100
    else:
        assert measured is None


def test_time_handicap_is_named_and_bad_grace_refused(capsys: pytest.CaptureFixture[str]) -> None:
    stockfish = EngineSpec.parse("stockfish", ["UCI_Elo=1350", "Move Overhead=300"])
    assert stockfish.time_handicap() == "Move Overhead=300"
    assert EngineSpec.parse("stockfish", ["UCI_Elo=1350"]).time_handicap() == ""
    # the engine's own default is no handicap
    assert stockfish.time_handicap({"Move Overhead": 10}) == "Move Overhead=300"
    assert EngineSpec.parse("sf", ["Move Overhead=10"]).time_handicap({"Move Overhead": 10}) == ""
    with pytest.raises(ValueError, match="latency grace must be between 0 and 10"):
        run_match(minizero(), minizero(), OPENINGS, MatchConfig(games=1, latency_grace=11.0))
    assert cli.main(["match", "minizero", "minizero", "--latency-grace", "11", "--nodes", "9"]) == 2
    error = capsys.readouterr().err
    assert "latency grace must be between 0 and 10" in error and error.count("\n") == 1
