"""The .nnue format: bit-exact round trip, and one-line errors for every kind of bad file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from nnue.kernel import KernelNet
from nnue.model import NnueConfig, NnueModel, quantize
from nnue.quantize import MAGIC, QuantizedNet, load_net, net_bytes, parse_net, save_net
from nnue.reference import IntegerNet


@pytest.fixture(params=["piece-square", "halfkp", "king-buckets"])
def net(request: pytest.FixtureRequest):
    torch.manual_seed(0)
    return quantize(NnueModel(NnueConfig(request.param, 32, 32, 32)))


def test_round_trip_bit_exact(net, tmp_path: Path) -> None:
    path = tmp_path / "net.nnue"
    save_net(net, path)
    back = load_net(path)
    assert (back.feature_set, back.l1, back.l2, back.l3) == (net.feature_set, 32, 32, 32)
    for name, array in net.arrays().items():
        assert np.array_equal(getattr(back, name), array)
        assert getattr(back, name).dtype == array.dtype
    assert net_bytes(back) == path.read_bytes()
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_files(net, tmp_path: Path) -> None:
    data = net_bytes(net)
    cases = {
        "truncated": (data[:-100], "truncated: payload has"),
        "cut-header": (data[:20], "truncated inside the header"),
        "foreign": (b"\x89PNG\r\n\x1a\n" + data[8:], "not a minizero .nnue file"),
        "empty": (b"", "not a minizero .nnue file"),
        "flipped": (data[:-5] + bytes([data[-5] ^ 1]) + data[-4:], "checksum mismatch"),
        "trailing": (data + b"x", "trailing bytes"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.nnue"
        path.write_bytes(content)
        with pytest.raises(ValueError, match=message) as error:
            load_net(path)
        text = str(error.value)
        assert text.startswith(str(path)) and "\n" not in text
    with pytest.raises(ValueError, match="no such file"):
        load_net(tmp_path / "missing.nnue")


def rewrite_header(data: bytes, **changes) -> bytes:
    (length,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4
    header = json.loads(data[start:start + length])
    header.update(changes)
    encoded = json.dumps(header).encode()
    return MAGIC + struct.pack("<I", len(encoded)) + encoded + data[start + length:]


def test_header_problems(net) -> None:
    data = net_bytes(net)
    with pytest.raises(ValueError, match="unknown feature set 'halfka'"):
        parse_net(rewrite_header(data, feature_set="halfka"))
    with pytest.raises(ValueError, match="format version 9"):
        parse_net(rewrite_header(data, format_version=9))
    with pytest.raises(ValueError, match="impossible layer sizes"):
        parse_net(rewrite_header(data, l1=-4))
    with pytest.raises(ValueError, match="quantization constants"):
        parse_net(rewrite_header(data, constants={"ft_scale": 255}))
    with pytest.raises(ValueError, match="corrupted header"):
        parse_net(MAGIC + struct.pack("<I", 3) + b"{x}" + b"payload")


def test_unclipped_model_refused() -> None:
    model = NnueModel(NnueConfig("piece-square", 16, 8, 8))
    with torch.no_grad():
        model.hidden1.weight[0, 0] = 5.0  # beyond int8 / 64
    with pytest.raises(ValueError, match="weight clipping"):
        quantize(model)


def test_unknown_sizes() -> None:
    with pytest.raises(ValueError, match="unknown feature set"):
        NnueModel(NnueConfig("king-piece"))
    with pytest.raises(ValueError, match="layer size l1=0"):
        NnueModel(NnueConfig("piece-square", 0))


def test_the_integer_layers_by_hand() -> None:
    """The scheme of ``nnue/quantize.py`` on one input, every step rounded to nearest:
    x0 = clip(accumulators) = (100, 50); hidden 1: 64 x 100 = 6400, (6400 + 32) >> 6 = 100;
    hidden 2: 64 x 100 + 40 = 6440, (6440 + 32) >> 6 = 101 (flooring would give 100);
    output: 101 + 8 = 109 (16 x centipawns), (109 + 8) >> 4 = 7 (flooring would give 6)."""
    one = np.ones((1, 1), np.int8)
    net = QuantizedNet("piece-square", 1, 1, 1, ft_weight=np.zeros((768, 1), np.int16),
                       ft_bias=np.zeros(1, np.int16),
                       hidden1_weight=np.array([[64, 0]], np.int8),
                       hidden1_bias=np.zeros(1, np.int32), hidden2_weight=64 * one,
                       hidden2_bias=np.array([40], np.int32), output_weight=one,
                       output_bias=np.array([8], np.int32))
    accumulators = np.array([[100, 50], [300, -7]], np.int16)  # the second clips to (127, 0)
    # (127 x 64 + 32) >> 6 = 127; 64 x 127 + 40 = 8168, (8168 + 32) >> 6 = 128 -> 127;
    # (127 + 8 + 8) >> 4 = 8.
    assert IntegerNet(net).layers(accumulators).tolist() == [7, 8]
    assert KernelNet(net).layers(accumulators).tolist() == [7, 8]
