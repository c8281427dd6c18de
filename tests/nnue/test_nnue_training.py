"""Training learns the teacher; quantization keeps the float net's scores; the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import chess
import numpy as np
import pytest
import torch

from nnue.check import bench, check, load_any
from nnue.cli import main
from nnue.data import Positions, encode_board
from nnue.model import NnueConfig, NnueModel, loss_function, r_squared, win_probability
from nnue.train import TrainConfig, load_checkpoint, train, validate


@pytest.mark.slow
def test_tiny_net_learns(tiny_run: Path) -> None:
    rows = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == list(range(6))
    assert rows[-1]["validation_loss"] < rows[0]["validation_loss"]
    # 3,000 positions and six epochs: far from the big run, but clearly better than the mean.
    assert rows[-1]["validation_r2_wdl"] > 0.1
    assert (tiny_run / "loss.png").stat().st_size > 1000


@pytest.mark.slow
def test_quantized_agrees_with_float(tiny_run: Path, labelled: Positions) -> None:
    model, net, _ = load_any(tiny_run / "checkpoint.pt")
    report = check(model, net, labelled)
    assert report["int_vs_float_mean_abs_cp"] <= 3.0, report
    assert report["int_vs_float_percentiles_cp"]["99"] <= 15.0, report
    assert abs(report["int_vs_teacher_r2_wdl"] - report["float_vs_teacher_r2_wdl"]) < 0.02


@pytest.mark.slow
def test_interrupted_run_resumes_bit_exact(tmp_path: Path, labelled: Positions) -> None:
    """Stopped mid-epoch and resumed, a run ends with exactly the weights of a straight run."""
    config = TrainConfig(epochs=2, batch_size=256, checkpoint_every=4, validation_fraction=0.2)
    small = NnueConfig("halfkp", 16, 8, 8)
    straight = train([], tmp_path / "a", small, config, quiet=True, positions=labelled)
    stopped = train([], tmp_path / "b", small, config, quiet=True, positions=labelled,
                    stop_after_steps=5)
    assert stopped["stopped"] and stopped["epoch"] == 0
    with pytest.raises(ValueError, match="already there"):
        train([], tmp_path / "b", small, config, quiet=True, positions=labelled)
    resumed = train([], tmp_path / "b", small, config, resume=True, quiet=True,
                    positions=labelled)
    assert resumed == straight | {"train_positions_per_second":
                                  resumed["train_positions_per_second"]}
    first, _ = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    second, _ = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    for name, tensor in first.state_dict().items():
        assert np.array_equal(tensor.numpy(), second.state_dict()[name].numpy()), name
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1]
    with pytest.raises(ValueError, match="different configuration"):
        train([], tmp_path / "b", small, TrainConfig(epochs=3), resume=True, quiet=True,
              positions=labelled)


@pytest.mark.slow
def test_cli_pipeline(tiny_run: Path, labelled_dir: Path, tmp_path: Path,
                      capsys: pytest.CaptureFixture) -> None:
    net = tmp_path / "tiny.nnue"
    assert main(["quantize", str(tiny_run / "checkpoint.pt"), "--out", str(net)]) == 0
    assert main(["check", str(net), "--data", str(labelled_dir), "--validation-fraction", "0.2",
                 "--positions", "300"]) == 0
    out = capsys.readouterr().out
    assert "integer vs float" in out and "five worst" in out
    assert main(["bench", str(net), "--games", "2", "--plies", "20"]) == 0
    model, integer, _ = load_any(net)
    result = bench(model, integer, games=2, plies=10, batch_size=64, repeats=1)
    assert result["kernel_push_evaluate_pop_us"] > 0


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.nnue"
    bad.write_bytes(b"nonsense")
    assert main(["bench", str(bad)]) == 2
    assert main(["quantize", str(tmp_path / "none.pt"), "--out", str(tmp_path / "x.nnue")]) == 2
    (tmp_path / "foreign.pt").write_bytes(b"PK\x03\x04junk")
    assert main(["check", str(tmp_path / "foreign.pt"), "--data", str(tmp_path)]) == 2
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--feature-set", "halfka"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4, errors
    assert "bad.nnue: not a minizero .nnue file" in errors[0]
    assert "none.pt: no such file" in errors[1]
    assert "foreign.pt: not a readable checkpoint" in errors[2]
    assert "unknown feature set 'halfka'" in errors[3]
    assert not (tmp_path / "x.nnue").exists() and not (tmp_path / "r").exists()


def test_king_buckets_factor_merges_exactly(labelled: Positions) -> None:
    """The factorized king-buckets model and its quantized (merged) net compute the same
    function, and clipping keeps every merged row within the int16 bound."""
    from nnue.model import dequantize, quantize
    from nnue.quantize import FT_WEIGHT_LIMIT
    from nnue.reference import IntegerNet

    torch.manual_seed(1)
    model = NnueModel(NnueConfig("king-buckets", 32, 8, 8))
    with torch.no_grad():
        model.factor.normal_(0.0, 5.0)  # far outside the limit once merged
        model.feature_transformer.weight.normal_(0.0, 5.0)
    model.clip_weights()
    assert model.ft_rows().abs().max() <= FT_WEIGHT_LIMIT + 1e-6
    some = labelled.subset(np.arange(300))
    integer = IntegerNet(quantize(model)).evaluate_batch(some.pieces, some.side_to_move)
    assert np.abs(integer - model.evaluate_cp(some.pieces, some.side_to_move)).mean() < 20
    merged = dequantize(quantize(model))
    assert merged.factor is not None and not merged.factor.any()


def test_start_king_buckets_from_a_piece_square_net(tiny_run: Path, labelled: Positions,
                                                     tmp_path: Path) -> None:
    """--init: a king-buckets model started from a piece-square net computes that net's
    scores exactly (the buckets start at zero), and a mismatched net is refused in one line."""
    from nnue.model import dequantize, quantize
    from nnue.quantize import load_net, save_net
    from nnue.train import initialize_from, load_checkpoint

    piece_square, _ = load_checkpoint(tiny_run / "checkpoint.pt")
    path = tmp_path / "ps.nnue"
    save_net(quantize(piece_square), path)
    config = piece_square.config
    model = NnueModel(NnueConfig("king-buckets", config.l1, config.l2, config.l3))
    initialize_from(model, path)
    some = labelled.subset(np.arange(500))
    expected = dequantize(load_net(path)).evaluate_cp(some.pieces, some.side_to_move)
    assert np.allclose(model.evaluate_cp(some.pieces, some.side_to_move), expected, atol=1e-3)
    with pytest.raises(ValueError, match="sizes .* differ"):
        initialize_from(NnueModel(NnueConfig("king-buckets", config.l1 * 2, 8, 8)), path)
    with pytest.raises(ValueError, match="cannot start a halfkp model"):
        initialize_from(NnueModel(NnueConfig("halfkp", config.l1, config.l2, config.l3)), path)


def test_loss_targets_by_hand() -> None:
    # Output 0.41 is 0.41 x 600 = 246 cp: sigmoid(246 / 410) = sigmoid(0.6) = 0.645656.
    output = torch.tensor([0.41, 0.41])
    score = torch.tensor([410.0, 0.0])  # the teacher: sigmoid(1) = 0.731059 and 0.5
    result = torch.tensor([1.0, -1.0])  # the game, from the side to move: won, lost
    predicted = 0.645656
    # lambda 0: the outcome alone, targets 1 and 0.
    expected = ((predicted - 1) ** 2 + predicted**2) / 2
    assert loss_function(output, score, result, 0.0).item() == pytest.approx(expected, abs=1e-5)
    # lambda 0.75: 0.75 x 0.731059 + 0.25 x 1 = 0.798294 and 0.75 x 0.5 + 0 = 0.375.
    expected = ((predicted - 0.798294) ** 2 + (predicted - 0.375) ** 2) / 2
    assert loss_function(output, score, result, 0.75).item() == pytest.approx(expected, abs=1e-5)


def test_validation_targets_mix_teacher_and_result_by_lambda() -> None:
    torch.manual_seed(0)
    model = NnueModel(NnueConfig("piece-square", 8, 8, 8))
    boards = [chess.Board(), chess.Board("4k3/8/8/8/8/8/3PP3/4K3 b - - 0 1")]
    positions = Positions(np.stack([encode_board(board) for board in boards]),
                          np.array([1, 0], np.uint8), np.array([300, -800], np.int16),
                          np.array([-1, 1], np.int8), np.zeros(2, np.int64))
    predicted = win_probability(model.evaluate_cp(positions.pieces, positions.side_to_move))
    teacher = win_probability(np.array([300.0, -800.0]))
    for lambda_, target in ((1.0, teacher), (0.0, np.array([0.0, 1.0])),
                            (0.8, 0.8 * teacher + 0.2 * np.array([0.0, 1.0]))):
        loss = validate(model, positions, lambda_)["validation_loss"]
        assert loss == pytest.approx(float(np.mean((predicted - target) ** 2))), lambda_


def test_r_squared_by_hand() -> None:
    # target mean 7/3: total (4/3)^2 + (1/3)^2 + (5/3)^2 = 14/3; residual 1: R^2 = 1 - 3/14.
    assert r_squared(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])) == pytest.approx(
        11 / 14)
    assert np.isnan(r_squared(np.array([4.0, 6.0]), np.array([5.0, 5.0])))  # a constant target
