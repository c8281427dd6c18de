"""The hexapawn command: results, one-line errors, and an interactive game that survives typos."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hexapawn.cli import build_parser, main
from hexapawn.solve import Solution


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hexapawn", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_solve_reports_winner_counts_and_time(tmp_path) -> None:
    out = tmp_path / "three.npz"
    result = run("solve", "--size", "3x3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Black wins" in result.stdout
    assert "135" in result.stdout and "70 with a move to choose" in result.stdout
    assert Solution.load(out).summary()["positions"] == 135


@pytest.mark.parametrize("size", ["2x9", "abc", "9x9"])
def test_impossible_sizes_exit_nonzero_with_one_line(size: str) -> None:
    result = run("solve", "--size", size)
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "Traceback" not in result.stderr


def test_too_large_for_the_solver_is_a_clean_error(capsys) -> None:
    assert main(["solve", "--size", "8x8"]) == 2
    assert "at most 31 squares" in capsys.readouterr().err


def test_play_asks_again_after_garbled_and_illegal_moves() -> None:
    # White against the perfect player: typos and an illegal move, then a legal game to the end.
    moves = ["nonsense", "a1a3", "b1b2"] + ["a1a2", "c1c2", "a2a3", "c2c3", "b2b3"] * 2
    lines: list[str] = []
    feed = iter(moves)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    args = build_parser().parse_args(["play", "--size", "3x3", "--opponent", "solver"])
    assert args.run(args, read=read, write=lines.append) == 0
    text = "\n".join(lines)
    assert "is not a move" in text and "not legal" in text
    assert "solver wins." in text  # 3x3 is a win for Black with perfect play


def test_play_from_a_pipe_ends_cleanly() -> None:
    result = run("play", "--opponent", "random", "--color", "black", stdin="zz\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "is not a move" in result.stdout


def _trained_checkpoint(path, width: int = 3, height: int = 3, steps: int = 300) -> None:
    """A small network fitted to the solver's moves (a few seconds), saved as a checkpoint."""
    import dataclasses

    import torch

    from hexapawn.experiment import supervised_samples
    from hexapawn.game import Hexapawn
    from hexapawn.solve import solve
    from minizero.checkpoint import save_checkpoint
    from minizero.nn import NetworkConfig, PolicyValueNet

    torch.manual_seed(0)
    torch.set_num_threads(1)  # a tiny net: more threads only wait on each other
    game = Hexapawn(width, height)
    config = NetworkConfig(game.input_shape, game.action_size, blocks=1, channels=16)
    network = PolicyValueNet(config)
    samples = supervised_samples(solve(width, height))
    planes, policy = torch.from_numpy(samples.planes), torch.from_numpy(samples.policy)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        logits, _ = network(planes)
        loss = -(policy * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
    save_checkpoint(path, config={"network": dataclasses.asdict(config)},
                    model=network.state_dict())


def test_play_against_a_trained_network_that_wins_as_black(tmp_path) -> None:
    # 3x3 is a win for Black: a network that learned the solver's moves wins whatever White does.
    checkpoint = tmp_path / "net.pt"
    _trained_checkpoint(checkpoint)
    for first_moves in (["a1a2", "b1b2", "c1c2"], ["b1b2", "a1a2", "c1c2"]):
        tries = first_moves + ["a1a2", "b1b2", "c1c2", "a2a3", "b2b3", "c2c3", "a1b2",
                               "b2a3", "b2c3", "c2b3", "a2b3"] * 3
        feed, lines = iter(tries), []

        def read(prompt: str, feed=feed) -> str:
            try:
                return next(feed)
            except StopIteration:
                raise EOFError from None

        args = build_parser().parse_args(["play", "--opponent", f"net:{checkpoint}"])
        assert args.run(args, read=read, write=lines.append) == 0
        assert lines[-1] == "net:net.pt wins.", "\n".join(lines)


def test_net_opponent_with_a_bad_file_is_a_one_line_error(tmp_path, capsys) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "four.pt"
    _trained_checkpoint(foreign, 4, 4, steps=0)  # a 4x4 network offered for a 3x3 game
    cases = [(f"net:{garbage}", "not a readable checkpoint"),
             (f"net:{tmp_path / 'missing.pt'}", "no such file"),
             (f"net:{foreign}", "network takes input"),
             ("net:", "needs a checkpoint path")]
    for opponent, reason in cases:
        assert main(["play", "--opponent", opponent]) == 2, opponent
        error = capsys.readouterr().err
        assert reason in error and len(error.strip().splitlines()) == 1, error
    with pytest.raises(SystemExit):
        main(["play", "--opponent", "grandmaster"])
    assert "none of solver" in capsys.readouterr().err
