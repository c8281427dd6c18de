"""The NNUE precision harness against the package's own evaluators, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import chess
import numpy as np
import pytest
import torch

from nnue.cli import main as nnue_main
from nnue.divergence import (
    DivergenceConfig,
    check_relations,
    gap_function,
    hill_climb,
    mutate,
    random_sampling,
)
from nnue.kernel import KernelNet
from nnue.model import NnueConfig, NnueModel, dequantize, quantize
from nnue.precision import (
    best_moves,
    encode,
    format_scores,
    integer_scores,
    multiplier_error,
    multiplier_table,
    random_positions,
)
from nnue.quantize import load_net, save_net
from nnue.reference import IntegerNet

SHIPPED = Path(__file__).resolve().parents[2] / "nnue" / "nets" / "piece-square-256.nnue"


@pytest.fixture(scope="module")
def shipped() -> tuple[NnueModel, IntegerNet]:
    net = load_net(SHIPPED)
    return dequantize(net), IntegerNet(net)


@pytest.fixture(scope="module")
def boards() -> list[chess.Board]:
    return random_positions(150, np.random.default_rng(3))


def random_model(feature_set: str) -> NnueModel:
    """An untrained quantization-aware model with large hidden weights (up to the clip limit)."""
    torch.manual_seed(1)
    model = NnueModel(NnueConfig(feature_set, 64, 16, 16))
    with torch.no_grad():
        for layer in (model.hidden1, model.hidden2, model.output):
            layer.weight.normal_(0.0, 0.8)
    model.clip_weights()
    return model


def test_float32_through_the_harness_is_the_untouched_network(shipped, boards) -> None:
    pieces, side_to_move = encode(boards)
    for model in (shipped[0], random_model("piece-square"), random_model("halfkp")):
        scores, saturated = format_scores(model, pieces, side_to_move, "float32")
        assert np.array_equal(scores, model.evaluate_cp(pieces, side_to_move))
        assert sum(saturated.values()) == 0


def test_int8_path_equals_the_nnue_evaluator_bit_for_bit(shipped, boards, tmp_path) -> None:
    pieces, side_to_move = encode(boards)
    for feature_set in ("piece-square", "halfkp"):
        save_net(quantize(random_model(feature_set)), tmp_path / f"{feature_set}.nnue")
    nets = [shipped[1]] + [IntegerNet(load_net(tmp_path / f"{name}.nnue"))
                           for name in ("piece-square", "halfkp")]
    for net in nets:
        ours = integer_scores(net, pieces, side_to_move)
        assert np.array_equal(ours, net.evaluate_batch(pieces, side_to_move))
        assert np.array_equal(ours, KernelNet(net.net).evaluate_batch(pieces, side_to_move))
        assert [int(v) for v in ours[:20]] == [net.evaluate_board(b) for b in boards[:20]]


def test_multipliers_against_hand_computed_products() -> None:
    mitchell = multiplier_table("mitchell")
    # 2 x 2 = 4 exactly; 3 x 3: 2^2 (1 + 1/2 + 1/2) -> 2 x 2^2 x 1 = 8; 5 x 6: 16 + 4 + 8 = 28
    assert (mitchell[2, 2], mitchell[3, 3], mitchell[5, 6], mitchell[0, 9]) == (4, 8, 28, 0)
    assert multiplier_table("truncated4")[15, 15] == 224  # 225 = 0b11100001 loses its low 4 bits
    assert np.array_equal(multiplier_table("exact"), np.outer(np.arange(128), np.arange(128)))
    assert multiplier_error("mitchell")["max_abs_relative"] == pytest.approx(1 / 9)
    assert multiplier_error("mitchell")["mean_relative"] < 0  # Mitchell never overestimates
    for bad in ("truncated0", "truncated14", "booth"):
        with pytest.raises(ValueError, match="truncated|unknown multiplier"):
            multiplier_table(bad)


def test_approximate_multipliers_cost_accuracy(shipped, boards) -> None:
    model, net = shipped
    pieces, side_to_move = encode(boards)
    reference = model.evaluate_cp(pieces, side_to_move)
    errors = {name: np.abs(integer_scores(net, pieces, side_to_move, name) - reference).mean()
              for name in ("exact", "truncated6", "mitchell")}
    assert errors["exact"] < 3 < errors["mitchell"] and errors["exact"] < errors["truncated6"]


def test_formats_are_seeded_and_saturation_is_reported(shipped, boards) -> None:
    model, _ = shipped
    pieces, side_to_move = encode(boards[:40])
    first = format_scores(model, pieces, side_to_move, "fixed3.6", "stochastic", seed=5)[0]
    again = format_scores(model, pieces, side_to_move, "fixed3.6", "stochastic", seed=5)[0]
    other = format_scores(model, pieces, side_to_move, "fixed3.6", "stochastic", seed=6)[0]
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # fixed0.6 holds [-1, 1): every weight of the shipped net (all below 0.7), but not the
    # layer sums of positions beyond 600 cp, nor the hidden weights of the scaled-up model
    _, saturated = format_scores(model, pieces, side_to_move, "fixed0.6")
    assert saturated["hidden1_weight"] == 0 and saturated["activations"] > 0
    _, saturated = format_scores(random_model("piece-square"), pieces, side_to_move, "fixed0.6")
    assert saturated["hidden1_weight"] > 0


def test_divergence_search_is_seeded_and_the_relations_hold(shipped) -> None:
    model, net = shipped
    gap = gap_function(model, net)
    config = DivergenceConfig(budget=64, mutants=8, patience=3, keep=2, seed=2)
    climbed = hill_climb(gap, config)
    assert climbed == hill_climb(gap, config)
    sampled = random_sampling(gap, config)
    for result in (climbed, sampled):
        assert result["evaluations"] == 64 and len(result["trace"]) == 64
        assert result["trace"] == sorted(result["trace"])  # best so far never drops
        for row in result["worst"]:
            relations = check_relations(model, net, chess.Board(row["fen"]))
            assert relations["colour_flip_integer_equal"]
            assert relations["colour_flip_float_equal"]
            assert relations["incremental_equals_refresh"]
    rng = np.random.default_rng(0)
    start = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    for _ in range(30):
        child = mutate(start, rng)
        assert child is None or (child.is_valid() and not child.is_check())


def test_file_mirror_is_checked_only_without_castling_rights(shipped) -> None:
    model, net = shipped
    with_rights = check_relations(model, net, chess.Board())
    assert "file_mirror_integer_difference_cp" not in with_rights
    without = check_relations(model, net, chess.Board("4k3/8/8/3p4/4P3/8/8/4K3 w - - 0 1"))
    assert isinstance(without["file_mirror_integer_difference_cp"], int)


def test_precision_command_writes_a_run_directory(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["precision", str(SHIPPED), "--out", str(out), "--positions", "40",
            "--move-positions", "8", "--budget", "48", "--mca-positions", "4",
            "--mca-samples", "3", "--formats", "float32", "float16", "int4-channel",
            "--multipliers", "exact", "mitchell", "--quiet"]
    assert nnue_main(argv) == 0
    printed = capsys.readouterr().out
    assert "| float32 | nearest | 0.00 | 0.0 | 0.0 | 100.0% | 0 |" in printed
    for name in ("formats", "multipliers", "mixed", "mca", "divergence"):
        assert (out / f"{name}.json").exists()
    for picture in ("formats.png", "mca.png", "divergence.png", "worst_hill_climbing.png"):
        assert (out / picture).stat().st_size > 1000
    exact = json.loads((out / "multipliers.json").read_text())["rows"][0]
    assert exact["multiplier"] == "exact" and exact["mean_abs"] < 3
    assert nnue_main(argv) == 2  # the directory holds a run: --resume or another --out
    assert nnue_main([*argv, "--resume"]) == 0  # every study on disk: nothing recomputed


@pytest.mark.parametrize("content, suffix, message", [
    (b"not a net", ".nnue", "bad magic"),
    (b"PK\x03\x04 broken", ".pt", "not a readable checkpoint"),
    (b"", ".txt", "expected a .nnue net"),
])
def test_bad_net_files_are_one_line_errors(tmp_path, capsys, content, suffix, message) -> None:
    path = tmp_path / f"net{suffix}"
    path.write_bytes(content)
    assert nnue_main(["precision", str(path), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_bad_formats_and_multipliers_are_refused(tmp_path, capsys) -> None:
    for option, value, message in (("--formats", "int12x", "unknown number format"),
                                   ("--formats", "int0", "bit width 0"),
                                   ("--multipliers", "booth", "unknown multiplier")):
        assert nnue_main(["precision", str(SHIPPED), "--out", str(tmp_path / "r"), option,
                          value]) == 2
        assert message in capsys.readouterr().err


def test_the_best_move_is_the_child_worst_for_the_opponent() -> None:
    # Child scores are from the opponent's side: the mover picks the lowest, first of equals.
    child_scores = np.array([30, -50, 10, 5, 5, 7])
    assert best_moves(child_scores, np.array([0, 3, 6])).tolist() == [1, 0]


def test_the_project_opening_book_is_read_with_its_comment_line(tmp_path, capsys) -> None:
    """The README's recipe: --openings benchmarks/openings.fen (a '#' header, then FENs)."""
    book = Path(__file__).resolve().parents[2] / "benchmarks" / "openings.fen"
    assert book.read_text().startswith("#")
    out = tmp_path / "run"
    assert nnue_main(["precision", str(SHIPPED), "--out", str(out), "--study", "formats",
                      "--positions", "8", "--move-positions", "2", "--formats", "float32",
                      "--openings", str(book), "--quiet"]) == 0
    assert json.loads((out / "formats.json").read_text())["rows"]
    bad = tmp_path / "bad.fen"
    bad.write_text("# a header\nnot a position\n")
    assert nnue_main(["precision", str(SHIPPED), "--out", str(tmp_path / "r2"), "--openings",
                      str(bad)]) == 2
    assert f"{bad}:2" in capsys.readouterr().err and not (tmp_path / "r2").exists()
