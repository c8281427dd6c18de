"""Chess endgames as a game: starts from the tables, table labels, exact grades, the comparison."""

from __future__ import annotations

from pathlib import Path

import chess
import chess.engine
import numpy as np
import pytest
import torch

from minizero.chessgame import encoding
from minizero.chessgame.compare import CompareConfig
from minizero.chessgame.endgame import EndgameGame, from_spec, label
from minizero.chessgame.endgame_compare import (
    EndgameComparison,
    TableSamples,
    label_shard,
    load_labels,
)
from minizero.chessgame.endgame_grade import (
    convert,
    defended_game,
    favourites,
    grade_choices,
    grading_set,
    mates,
    table_player,
    uci_player,
)
from minizero.chessgame.game import ChessState
from minizero.chessgame.protocol import MATE
from minizero.chessgame.uci_game import EngineSpec
from minizero.cli import main as minizero_main
from minizero.games import make_game
from minizero.nn.network import NetworkConfig, PolicyValueNet
from minizero.search.puct import PUCTConfig, network_evaluator
from minizero.selfplay import play_game


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("tables"))


def test_spec_names_the_canonical_table_and_round_trips(tables: str) -> None:
    game = make_game(f"chess-endgame:krvk,side=black,starts=long,tables={tables}")
    assert isinstance(game, EndgameGame)
    assert (game.signature, game.side, game.starts) == ("KRvK", "black", "long")
    assert game.name == "chess-endgame-KRvK-black-long-t1"
    assert from_spec(game.spec.partition(":")[2]) == game
    assert game.input_shape == (encoding.plane_count(1), 8, 8)
    assert game.action_size == 4672


@pytest.mark.parametrize("spec, fragment", [
    ("", "signature"), ("KQQRvK", "at most 4"), ("KQvK,side=red", "side"),
    ("KQvK,starts=short", "starts"), ("KQvK,history=x", "whole number"),
    ("KQvK,colour=white", "unknown chess-endgame option")])
def test_bad_specs_are_one_line_errors(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        from_spec(spec)


@pytest.mark.parametrize("side", ["white", "black"])
def test_starts_are_won_for_the_learner_to_move_and_seeded(tables: str, side: str) -> None:
    game = from_spec(f"KRvK,side={side},tables={tables}")
    rng = np.random.default_rng(3)
    boards = [game.random_start(rng).board for _ in range(30)]
    again = [game.random_start(np.random.default_rng(3)).board.fen()]
    assert again[0] == boards[0].fen()
    for board in boards:
        assert board.turn == game.learner
        assert board.pieces(chess.ROOK, game.learner)
        assert game.tablebase().probe(board) > 0  # won for the side to move
    # every symmetry is drawn, not only the table's canonical kings
    assert len({chess.square_file(board.king(game.learner)) for board in boards}) > 4


def test_long_starts_lie_further_from_mate(tables: str) -> None:
    def mean_distance(starts: str) -> float:
        game = from_spec(f"KQvK,starts={starts},tables={tables}")
        rng = np.random.default_rng(0)
        return float(np.mean([32000 - game.tablebase().probe(game.random_start(rng).board)
                              for _ in range(300)]))
    assert mean_distance("long") > mean_distance("uniform") + 1


def test_even_starts_give_every_distance_its_share(tables: str) -> None:
    game = from_spec(f"KQvK,starts=even,tables={tables}")
    rng = np.random.default_rng(0)
    plies = [32000 - game.tablebase().probe(game.random_start(rng).board) for _ in range(500)]
    counts = np.bincount(plies, minlength=20)[1::2]  # mates in 1..10 moves: odd plies
    assert len(counts) == 10 and counts.min() >= 25  # 50 each expected; uniform gives 0-9


def test_within_keeps_starts_near_mate_and_grading_whole(tables: str) -> None:
    game = from_spec(f"KQvK,within=3,tables={tables}")
    assert game.spec.endswith(f"within=3,tables={tables}") and "within3" in game.name
    rng = np.random.default_rng(0)
    plies = {32000 - game.tablebase().probe(game.random_start(rng).board) for _ in range(100)}
    assert plies == {1, 3}
    assert len(grading_set(game, 2)) == len(grading_set(from_spec(f"KQvK,tables={tables}"), 2))
    with pytest.raises(ValueError, match="within must be"):
        from_spec(f"KQvK,within=-1,tables={tables}")


def test_labels_spread_over_the_fastest_mates_with_the_exact_value(tables: str) -> None:
    game = from_spec(f"KQvK,tables={tables}")
    board = chess.Board("k7/8/1K6/8/8/8/8/7Q w - - 0 1")  # Qh8#, Qa1#... the mates in one
    actions, value = label(game.tablebase(), board)
    mates = {encoding.move_to_index(move, chess.WHITE) for move in board.legal_moves
             if board.is_checkmate() is False and _mates(board, move)}
    assert set(actions) == mates and value == 1.0
    defender = chess.Board("k7/8/1K6/8/8/8/8/6Q1 b - - 0 1")
    actions, value = label(game.tablebase(), defender)
    assert value == -1.0 and actions
    assert label(game.tablebase(), chess.Board("k7/1Q6/1K6/8/8/8/8/8 b - - 0 1")) is None


def _mates(board: chess.Board, move: chess.Move) -> bool:
    board.push(move)
    mate = board.is_checkmate()
    board.pop()
    return mate


def test_selfplay_runs_unchanged_from_drawn_starts(tables: str) -> None:
    game = from_spec(f"KQvK,tables={tables},max_plies=20")
    torch.manual_seed(0)
    network = PolicyValueNet(NetworkConfig(game.input_shape, game.action_size, blocks=0,
                                           channels=4, value_head="wdl"))
    evaluate = network_evaluator(game, network)
    firsts = [play_game(game, evaluate, PUCTConfig(simulations=2), np.random.default_rng(seed),
                        symmetries=False) for seed in range(3)]
    assert all(np.allclose(samples.policy.sum(axis=1), 1) for samples in firsts)
    assert len({samples.planes[0].tobytes() for samples in firsts}) == 3  # three drawn starts


def test_grading_set_verdicts_match_the_tables(tables: str) -> None:
    game = from_spec(f"KQvK,tables={tables}")
    graded = grading_set(game, starts=4, sample=60)
    indices, _ = game.won_starts()
    indices = np.sort(np.random.default_rng(12_345).choice(indices, 60, replace=False))
    assert len(graded) == 60 and len(graded.starts) == 4
    zero = PolicyValueNet(NetworkConfig(game.input_shape, game.action_size, blocks=0,
                                        channels=4, value_head="wdl"))
    for parameter in zero.parameters():  # every logit equal: the first legal move is chosen
        torch.nn.init.zeros_(parameter)
    chosen = favourites(zero, graded.planes[:50], graded.offsets[:51], graded.actions)
    for row in range(50):
        board = game.start_board(int(indices[row]), 0)
        move = next(iter(board.legal_moves))
        assert chosen[row] == graded.offsets[row]
        board.push(move)
        value = game.tablebase().probe(board)
        assert graded.keeps[chosen[row]] == (value < 0)  # the defender to move is lost


@pytest.mark.parametrize("side", ["white", "black"])
def test_defence_rows_mark_the_longest_resistance(tables: str, side: str) -> None:
    game = from_spec(f"KRvK,side={side},tables={tables}")
    defence = grading_set(game, starts=1, sample=30).defence
    assert len(defence) == 30
    for row in range(30):
        board = game.start_board(int(defence.indices[row]), 0)
        assert board.turn != game.learner and game.tablebase().probe(board) < 0
        longest = {encoding.move_to_index(move, board.turn)
                   for move, _ in game.tablebase().best_moves(board)}
        marked = defence.actions[defence.offsets[row]:defence.offsets[row + 1]][
            defence.longest[defence.offsets[row]:defence.offsets[row + 1]]]
        assert set(marked.tolist()) == longest


def test_the_tables_as_a_player_mate_every_start_in_their_distance(tables: str) -> None:
    game = from_spec(f"KRvK,tables={tables}")
    graded = grading_set(game, starts=6, sample=40)
    player = table_player(game)
    rows = np.arange(0, 40, 3)
    chosen = np.array([graded.choice(row, player(ChessState(graded.board(game, row))))
                       for row in rows])
    assert grade_choices(graded, chosen) == {"win_keeping": 1.0, "optimal": 1.0}
    for board in graded.starts:
        final = defended_game(game, player, board)
        assert mates(game, final) and final.board.is_checkmate()
        assert final.ply == MATE - game.tablebase().probe(board)  # the tables' distance
    assert convert(game, player, graded.starts) == 1.0


def test_a_player_that_never_mates_converts_nothing(tables: str) -> None:
    game = from_spec(f"KQvK,tables={tables}")
    starts = grading_set(game, starts=3, sample=10).starts

    def wanders(state: ChessState) -> int:  # a king move that is not mate, when there is one
        for action, move in state.moves.items():
            if state.board.piece_type_at(move.from_square) == chess.KING:
                state.board.push(move)
                mate = state.board.is_checkmate()
                state.board.pop()
                if not mate:
                    return action
        return next(iter(state.moves))

    finals = [defended_game(game, wanders, board) for board in starts]
    assert all(game.terminal_value(final) == 0 and not mates(game, final) for final in finals)
    assert convert(game, wanders, starts) == 0.0


@pytest.mark.slow
def test_a_uci_engine_with_the_tables_converts_every_start(tables: str) -> None:
    game = from_spec(f"KRvK,tables={tables}")
    starts = grading_set(game, starts=2, sample=10).starts
    spec = EngineSpec.parse("minizero-uci", ["Tablebases=true", f"TablebasePath={tables}"])
    with chess.engine.SimpleEngine.popen_uci(list(spec.command)) as engine:
        engine.configure(dict(spec.options))
        assert convert(game, uci_player(engine, chess.engine.Limit(nodes=200)), starts) == 1.0


def test_table_samples_round_trip_through_a_shard(tables: str, tmp_path: Path) -> None:
    game = from_spec(f"KRvK,side=black,tables={tables}")
    label_shard(game, tmp_path / "labels-00000.npz", np.random.default_rng(0), count=20)
    label_shard(game, tmp_path / "labels-00001.npz", np.random.default_rng(1), count=20)
    samples = load_labels(tmp_path, game.history)
    assert isinstance(samples, TableSamples) and len(samples) == 40
    planes, policy, value = samples.batch(np.arange(40))
    assert planes.shape == (40, *game.input_shape)
    assert torch.allclose(policy.sum(dim=1), torch.ones(40))
    assert set(value.tolist()) <= {-1.0, 0.0, 1.0}
    (tmp_path / "labels-00002.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="labels-00002.npz"):
        load_labels(tmp_path, game.history)


def test_resume_into_another_signature_is_refused(tables: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    EndgameComparison(out, CompareConfig(budget=2.0, workers=1, opening_plies=0, max_plies=400),
                      from_spec(f"KQvK,tables={tables}"), progress=False)
    before = sorted(path.name for path in out.rglob("*"))
    code = minizero_main(["compare", "--game", f"chess-endgame:KRvK,tables={tables}",
                          "--budget", "2s", "--out", str(out), "--workers", "1", "--quiet",
                          "--resume"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and "differs in: game" in error
    assert sorted(path.name for path in out.rglob("*")) == before


def test_board_of_the_game_state_keeps_no_history(tables: str) -> None:
    game = from_spec(f"KQvK,tables={tables}")
    state = game.initial_state()
    assert isinstance(state, ChessState) and state.parent is None


@pytest.mark.slow
def test_a_tiny_endgame_comparison_writes_a_whole_report(tables: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(EndgameComparison, "starts", 3)
    monkeypatch.setattr(EndgameComparison, "sample", 40)
    monkeypatch.setattr(EndgameComparison, "puct_nodes", 2)
    out = tmp_path / "run"
    argv = ["compare", "--game", f"chess-endgame:KQvK,tables={tables}", "--budget", "2s",
            "--out", str(out), "--workers", "1", "--quiet", "--checkpoints", "1", "--blocks",
            "0", "--channels", "4", "--simulations", "2", "--games-per-generation", "1",
            "--train-steps", "1", "--batch-size", "8"]
    assert minizero_main(argv) == 0
    table = capsys.readouterr().out
    assert "| self-play |" in table and "| supervised (table labels) |" in table
    grades = [line for line in (out / "grades.jsonl").read_text().splitlines()]
    assert len(grades) == 3 and all("conversion_puct" in line for line in grades[1:])
    assert (out / "learning_curves.png").exists()
    assert minizero_main([*argv, "--resume"]) == 0  # a finished run resumes to the same report
    assert capsys.readouterr().out == table


def test_cluster_option_reaches_the_selfplay_run(tables: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``--cluster local`` parses, and the self-play arm's run gets it."""
    import minizero.compare
    from minizero.cluster import LOCAL

    class Reached(Exception):
        pass

    def selfplay_run(*args: object, cluster: object = None, **kwargs: object) -> None:
        raise Reached(cluster)

    monkeypatch.setattr(minizero.compare, "SelfPlayRun", selfplay_run)
    monkeypatch.setattr(EndgameComparison, "run", lambda self: self.run_selfplay())
    with pytest.raises(Reached) as reached:
        minizero_main(["compare", "--game", f"chess-endgame:KQvK,tables={tables}", "--budget",
                       "2s", "--out", str(tmp_path / "run"), "--workers", "1", "--quiet",
                       "--cluster", "local"])
    assert reached.value.args[0] == LOCAL
