"""Quantization of a trained NNUE to integers (Stockfish 12's scheme) and the ``.nnue`` file.

Idea: scale every float weight so that it becomes an integer that fits a small type, and arrange
the scales so that each integer layer computes (up to rounding) a fixed multiple of the float
layer: activations become 0..127 (1.0 -> 127), the feature transformer int16 with scale 127, the
hidden layers int8 with scale 64 (so a dot product carries 127 x 64 and a shift by 6 brings it
back to the 0..127 scale), biases int32 at the scale of the products they join, and the output
16 x centipawns. The evaluators (``nnue/evaluator.py``, ``nnue/kernel.py``) then need only
integer adds, products and shifts:

    accumulator = ft_bias + sum of the active rows of ft_weight          int16, one per perspective
    x0 = clip(accumulator, 0, 127), side to move's half first            8-bit, (2 L1,)
    x1 = clip((hidden1_bias + hidden1_weight @ x0 + 32) >> 6, 0, 127)    int32 sums, 8-bit out
    x2 = clip((hidden2_bias + hidden2_weight @ x1 + 32) >> 6, 0, 127)
    cp = (output_bias + output_weight @ x2 + 8) >> 4                     centipawns, side to move

(``>>`` is the arithmetic shift, a floor; adding half the divisor first rounds to nearest, where
Stockfish floors: it halves the average rounding error at no cost.)

Every constant is defined once here, with why it has its value. This module imports no torch:
the conversion from a trained float model is ``nnue.model.quantize`` (and ``dequantize`` back),
so loading a net for play never loads torch.

File format (``.nnue``, ours, little-endian)::

    MAGIC (14 bytes) | header length (uint32) | header (UTF-8 JSON) | payload

The header holds the format version, feature set, layer sizes, the quantization constants the
payload was made with, the payload length and its SHA-256. The payload is the arrays in
``ARRAY_ORDER``, raw. A truncated, corrupted or foreign file raises a one-line ValueError.

Reference: Stockfish 12 ``nnue/layers/affine_transform.h``, ``clipped_relu.h``,
``nnue_common.h`` (kWeightScaleBits = 6, FV_SCALE = 16); nnue-pytorch ``serialize.py`` and its
docs on quantization. Command: ``nnue quantize runs/nnue/checkpoint.pt --out net.nnue``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minizero.atomic import write_bytes
from minizero.inputs import read_bytes
from nnue.features import FEATURE_SETS

INT8_MAX = 127
INT16_MAX = 32767
ACTIVATION_ONE = 127  # clipped-ReLU output 1.0 as an integer: activations live in 0..127 (int8)
FT_SCALE = 127  # feature-transformer weights and biases: int16 = round(float * 127), so the
#                 accumulator is 127 x the float accumulator and clips straight to 0..127
HIDDEN_WEIGHT_SCALE_BITS = 6  # hidden weights: int8 = round(float * 2**6); a product of an
HIDDEN_WEIGHT_SCALE = 1 << HIDDEN_WEIGHT_SCALE_BITS  # activation and a weight carries 127 x 64
HIDDEN_BIAS_SCALE = ACTIVATION_ONE * HIDDEN_WEIGHT_SCALE  # int32 hidden biases join those sums
NET_TO_CP = 600  # the float network's output times 600 is centipawns (nnue-pytorch nnue2score)
OUTPUT_SCALE = 16  # the integer output is 16 x centipawns (Stockfish's FV_SCALE)
OUTPUT_WEIGHT_SCALE = NET_TO_CP * OUTPUT_SCALE / ACTIVATION_ONE  # 75.59: int8 output weights
OUTPUT_BIAS_SCALE = NET_TO_CP * OUTPUT_SCALE  # 9600: the int32 output bias
MAX_ACTIVE_FEATURES = 32  # at most 32 pieces on a board, so at most 32 rows summed per perspective
FT_WEIGHT_LIMIT = INT16_MAX / (FT_SCALE * (MAX_ACTIVE_FEATURES + 1))  # 7.82: with every weight
#   and the bias within this, |accumulator| <= 33 x 7.82 x 127 = 32767: int16 never overflows
HIDDEN_WEIGHT_LIMIT = INT8_MAX / HIDDEN_WEIGHT_SCALE  # 1.98: the float range int8 / 64 covers
OUTPUT_WEIGHT_LIMIT = INT8_MAX / OUTPUT_WEIGHT_SCALE  # 1.68: the float range int8 / 75.59 covers
HIDDEN_ROUNDING = 1 << (HIDDEN_WEIGHT_SCALE_BITS - 1)  # 32: added before the shift by 6 so it
#                                                       rounds to nearest instead of flooring
OUTPUT_SHIFT = OUTPUT_SCALE.bit_length() - 1  # 4: dividing by OUTPUT_SCALE = 16 = 2**4
OUTPUT_ROUNDING = OUTPUT_SCALE // 2  # 8: half of 16, so the output shift rounds to nearest

MAGIC = b"MINIZERO-NNUE\n"
MAX_LAYER = 4096  # l1, l2, l3 at most
MAX_HEADER = 1 << 16  # bytes of the JSON header at most
FORMAT_VERSION = 1
ARRAY_ORDER = (  # name, dtype, shape as a function of (num_features, l1, l2, l3)
    ("ft_weight", np.int16, lambda f, a, b, c: (f, a)),
    ("ft_bias", np.int16, lambda f, a, b, c: (a,)),
    ("hidden1_weight", np.int8, lambda f, a, b, c: (b, 2 * a)),
    ("hidden1_bias", np.int32, lambda f, a, b, c: (b,)),
    ("hidden2_weight", np.int8, lambda f, a, b, c: (c, b)),
    ("hidden2_bias", np.int32, lambda f, a, b, c: (c,)),
    ("output_weight", np.int8, lambda f, a, b, c: (1, c)),
    ("output_bias", np.int32, lambda f, a, b, c: (1,)),
)


def constants() -> dict[str, float]:
    """The quantization constants a file was made with (checked when it is loaded)."""
    return {
        "activation_one": ACTIVATION_ONE,
        "ft_scale": FT_SCALE,
        "hidden_weight_scale_bits": HIDDEN_WEIGHT_SCALE_BITS,
        "net_to_cp": NET_TO_CP,
        "output_scale": OUTPUT_SCALE,
    }


@dataclass(frozen=True)
class QuantizedNet:
    """An integer NNUE: the arrays of ``ARRAY_ORDER`` plus the feature set and sizes."""

    feature_set: str
    l1: int
    l2: int
    l3: int
    ft_weight: np.ndarray  # (num_features, L1) int16, scale FT_SCALE
    ft_bias: np.ndarray  # (L1,) int16, scale FT_SCALE
    hidden1_weight: np.ndarray  # (L2, 2 L1) int8, scale HIDDEN_WEIGHT_SCALE
    hidden1_bias: np.ndarray  # (L2,) int32, scale HIDDEN_BIAS_SCALE
    hidden2_weight: np.ndarray  # (L3, L2) int8
    hidden2_bias: np.ndarray  # (L3,) int32
    output_weight: np.ndarray  # (1, L3) int8, scale OUTPUT_WEIGHT_SCALE
    output_bias: np.ndarray  # (1,) int32, scale OUTPUT_BIAS_SCALE

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name, _, _ in ARRAY_ORDER}


# ----------------------------------------------------------------------------- the .nnue file


def net_bytes(net: QuantizedNet) -> bytes:
    """The complete file contents of ``net``."""
    payload = b"".join(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
                       for array in net.arrays().values())
    header = json.dumps({
        "format_version": FORMAT_VERSION,
        "feature_set": net.feature_set,
        "l1": net.l1, "l2": net.l2, "l3": net.l3,
        "constants": constants(),
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }, sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + payload


def save_net(net: QuantizedNet, path: Path) -> None:
    """Write ``net`` to ``path`` atomically (minizero.atomic)."""
    write_bytes(path, net_bytes(net))


def parse_net(data: bytes, name: str = "<bytes>") -> QuantizedNet:
    """Parse file contents; ValueError "<name>: <what is wrong>" for anything but a good net."""
    def fail(problem: str) -> ValueError:
        return ValueError(f"{name}: {problem}")

    if not data.startswith(MAGIC):
        raise fail("not a minizero .nnue file (bad magic)")
    if len(data) < len(MAGIC) + 4:
        raise fail("truncated inside the header")
    (header_length,) = struct.unpack_from("<I", data, len(MAGIC))
    if header_length > MAX_HEADER:
        raise fail(f"corrupted header (said to be {header_length:,} bytes long)")
    start = len(MAGIC) + 4 + header_length
    if len(data) < start:
        raise fail("truncated inside the header")
    try:
        header = json.loads(data[len(MAGIC) + 4:start].decode())
        version = header["format_version"]
        feature_set, l1, l2, l3 = header["feature_set"], header["l1"], header["l2"], header["l3"]
        payload_bytes, digest = header["payload_bytes"], header["payload_sha256"]
        file_constants = header["constants"]
    except (ValueError, KeyError, TypeError) as error:
        raise fail(f"corrupted header ({type(error).__name__})") from None
    if version != FORMAT_VERSION:
        raise fail(f"format version {version}, this code reads version {FORMAT_VERSION}")
    if file_constants != constants():
        raise fail(f"quantization constants {file_constants} differ from this code's")
    if feature_set not in FEATURE_SETS:
        raise fail(f"unknown feature set {feature_set!r}")
    sizes_ok = all(isinstance(size, int) and 1 <= size <= MAX_LAYER for size in (l1, l2, l3))
    if not sizes_ok:
        raise fail(f"impossible layer sizes {l1}-{l2}-{l3}")
    payload = data[start:]
    if len(payload) != payload_bytes:
        kind = "truncated" if len(payload) < payload_bytes else "trailing bytes"
        raise fail(f"{kind}: payload has {len(payload)} bytes, header says {payload_bytes}")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise fail("checksum mismatch: the payload is corrupted")
    num_features = FEATURE_SETS[feature_set].num_features
    arrays = {}
    offset = 0
    for array_name, dtype, shape_of in ARRAY_ORDER:
        shape = shape_of(num_features, l1, l2, l3)
        count = int(np.prod(shape))
        little = np.dtype(dtype).newbyteorder("<")
        if offset + count * little.itemsize > len(payload):
            raise fail(f"payload too short for {array_name}")
        values = np.frombuffer(payload, dtype=little, count=count, offset=offset)
        arrays[array_name] = values.astype(dtype).reshape(shape)
        offset += count * little.itemsize
    if offset != len(payload):
        raise fail(f"payload has {len(payload) - offset} bytes more than the sizes need")
    worst = int(np.abs(arrays["ft_bias"].astype(np.int64)).max()) + MAX_ACTIVE_FEATURES * int(
        np.abs(arrays["ft_weight"].astype(np.int64)).max())
    if worst > INT16_MAX:
        raise fail(f"feature-transformer weights could overflow an int16 accumulator ({worst})")
    return QuantizedNet(feature_set=feature_set, l1=l1, l2=l2, l3=l3, **arrays)


def _largest_file() -> int:
    """Bytes of the largest file `parse_net` could accept: the format's bound on a read."""
    widest = max(feature_set.num_features for feature_set in FEATURE_SETS.values())
    payload = sum(int(np.prod(shape(widest, MAX_LAYER, MAX_LAYER, MAX_LAYER)))
                  * np.dtype(dtype).itemsize for _, dtype, shape in ARRAY_ORDER)
    return len(MAGIC) + 4 + MAX_HEADER + payload


def load_net(path: Path) -> QuantizedNet:
    """Read a ``.nnue`` file; a missing, truncated, corrupted or foreign file -> ValueError,
    and so is anything but a regular file (/dev/zero would be read without end) or a file
    larger than the format allows (read no further than that)."""
    return parse_net(read_bytes(path, "minizero .nnue net", _largest_file()), str(path))
