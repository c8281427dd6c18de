"""Loading Stockfish 15.1 nets: every field checked, every bad file refused in one line."""

from __future__ import annotations

import struct
from pathlib import Path

import chess
import numpy as np
import pytest

from nnue.sf15 import net as sf
from nnue.sf15.net import load_stockfish_net
from nnue.sf15.trace import board_pieces, nnue_value
from tests.nnue.sf15_synthetic import DESCRIPTION

SHIPPED_NET = Path(__file__).resolve().parents[2] / "nnue" / "nets" / "piece-square-256.nnue"


@pytest.fixture(scope="module")
def net_bytes(sf15_synthetic_file: Path) -> bytes:
    return sf15_synthetic_file.read_bytes()


@pytest.fixture(scope="module")
def synthetic(sf15_synthetic_file: Path) -> sf.StockfishNet:
    return load_stockfish_net(sf15_synthetic_file)


def test_the_architecture_hash_is_stockfish_15_1s() -> None:
    assert sf.ARCHITECTURE_HASH == 0x1C102EF2
    assert sf.FEATURES == 22528


def test_every_array_lands_where_the_file_puts_it(net_bytes: bytes,
                                                   synthetic: sf.StockfishNet) -> None:
    offset = 12 + len(DESCRIPTION) + 4
    biases = np.frombuffer(net_bytes, "<i2", sf.HALF_DIMENSIONS, offset)
    assert np.array_equal(synthetic.transformer_biases, biases)
    row = offset + 2 * sf.HALF_DIMENSIONS + 2 * 1234 * sf.HALF_DIMENSIONS
    assert np.array_equal(synthetic.transformer_weights[1234],
                          np.frombuffer(net_bytes, "<i2", sf.HALF_DIMENSIONS, row))
    last_stack = len(net_bytes) - sf.STACK_BYTES
    assert np.array_equal(synthetic.fc0_biases[7], np.frombuffer(net_bytes, "<i4", 16,
                                                                 last_stack + 4))
    assert synthetic.fc2_weights.shape == (8, 1, 32)
    assert synthetic.fc1_weights.shape == (8, 32, 32)
    assert synthetic.description == DESCRIPTION.decode()


def _refused(tmp_path: Path, data: bytes, expected: str, name: str = "bad.nnue") -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError) as caught:
        load_stockfish_net(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and expected in message, message


def test_bad_files_are_refused_with_one_line(tmp_path: Path, net_bytes: bytes) -> None:
    other_version = struct.pack("<I", 0x7AF32F16) + net_bytes[4:]
    _refused(tmp_path, other_version, "NNUE version 0x7AF32F16, expected Stockfish 15.1's")
    halfkp_hash = net_bytes[:4] + struct.pack("<I", 0x3E5AA6EE) + net_bytes[8:]
    _refused(tmp_path, halfkp_hash, "architecture hash 0x3E5AA6EE, expected 0x1C102EF2")
    _refused(tmp_path, net_bytes[:-100], "truncated Stockfish 15.1 net")
    _refused(tmp_path, net_bytes[:6], "truncated Stockfish 15.1 net")
    _refused(tmp_path, net_bytes + b"\0", "1 bytes after the network")
    stack = len(net_bytes) - 5 * sf.STACK_BYTES  # the 4th of 8 stacks
    corrupt = net_bytes[:stack] + b"\xff\xff\xff\xff" + net_bytes[stack + 4:]
    _refused(tmp_path, corrupt, "layer stack 3 hash 0xFFFFFFFF")
    _refused(tmp_path, SHIPPED_NET.read_bytes(), "a minizero .nnue net, not a Stockfish 15.1")
    _refused(tmp_path, b"\x7fELF" + bytes(5000), "executable with no embedded Stockfish 15.1")
    _refused(tmp_path, b"", "0 bytes, not a Stockfish 15.1 net")
    with pytest.raises(ValueError, match="no such file"):
        load_stockfish_net(tmp_path / "missing.nnue")


def test_a_net_embedded_in_an_executable_is_found(tmp_path: Path, net_bytes: bytes,
                                                   synthetic: sf.StockfishNet) -> None:
    binary = tmp_path / "engine"
    binary.write_bytes(b"\x7fELF" + bytes(999) + net_bytes + b"more code")
    found = load_stockfish_net(binary)
    assert np.array_equal(found.transformer_weights, synthetic.transformer_weights)
    assert np.array_equal(found.fc1_weights, synthetic.fc1_weights)


def _mirror_files(board: chess.Board) -> chess.Board:
    return board.transform(chess.flip_horizontal)


@pytest.mark.parametrize("fen", [
    "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
    "8/2k5/3p4/p2P1p2/P2P1P2/8/4K3/8 b - - 0 40",
    "3r2k1/pp3ppp/8/8/8/8/PPq2PPP/3R1BK1 w - - 0 1",
])
def test_mirror_and_colour_flip_give_the_same_score(synthetic: sf.StockfishNet, fen: str) -> None:
    """HalfKAv2_hm mirrors files so that each king stands on e-h, and each perspective sees the
    board from its own side: a position, its mirror image and its colour flip score alike."""
    board = chess.Board(fen)
    score = nnue_value(synthetic, board_pieces(board), 0 if board.turn else 1)
    mirrored = _mirror_files(board)
    flipped = board.mirror()
    assert nnue_value(synthetic, board_pieces(mirrored), 0 if mirrored.turn else 1) == score
    assert nnue_value(synthetic, board_pieces(flipped), 0 if flipped.turn else 1) == score


def test_cli_refuses_a_bad_net_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from nnue.cli import main

    assert main(["eval", str(SHIPPED_NET), "--fen", chess.STARTING_FEN]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "not a Stockfish 15.1 net" in captured.err
