"""Quantization of a trained NNUE to integers (Stockfish 12's scheme) and the ``.nnue`` file.

Idea: scale every float weight so that it becomes an integer that fits a small type, and arrange
the scales so that each integer layer computes (up to rounding) a fixed multiple of the float
layer: activations become 0..127 (1.0 -> 127), the feature transformer int16 with scale 127, the
hidden layers int8 with scale 64 (so a dot product carries 127 x 64 and a shift by 6 brings it
back to the 0..127 scale), biases int32 at the scale of the products they join, and the output
16 x centipawns. The evaluator (``nnue/evaluator.py``) then needs only integer adds, products and
shifts.

Every constant is defined once here, with why it has its value.

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
from typing import TYPE_CHECKING

import numpy as np

from minizero.atomic import write_bytes

if TYPE_CHECKING:
    from nnue.model import NnueModel

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
FLOAT32_EXACT_LIMIT = 1 << 24  # float32 represents every integer up to 2**24 exactly

MAGIC = b"MINIZERO-NNUE\n"
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


def _to_int(values: np.ndarray, scale: float, dtype: type, limit: int) -> np.ndarray:
    """round(values * scale), checked to fit: clipping during training guarantees it does."""
    scaled = np.round(np.asarray(values, dtype=np.float64) * scale)
    if np.abs(scaled).max(initial=0) > limit:
        raise ValueError(f"a weight needs {np.abs(scaled).max():.0f} > {limit} after scaling:"
                         " the model was not trained with weight clipping")
    return scaled.astype(dtype)


def quantize(model: NnueModel) -> QuantizedNet:
    """The integer net of a float model (weights must lie within the clipping limits)."""
    import torch

    not_finite = [name for name, tensor in model.state_dict().items()
                  if not bool(torch.isfinite(tensor).all())]
    if not_finite:
        raise ValueError(f"the model has NaN or infinite weights in {', '.join(not_finite)}; "
                         "it cannot be quantized (retrain with a lower learning rate)")
    with torch.no_grad():
        def get(tensor: torch.Tensor) -> np.ndarray:
            return tensor.detach().cpu().double().numpy()

        int32_max = np.iinfo(np.int32).max
        config = model.config
        return QuantizedNet(
            feature_set=config.feature_set, l1=config.l1, l2=config.l2, l3=config.l3,
            ft_weight=_to_int(get(model.feature_transformer.weight)[:-1], FT_SCALE, np.int16,
                              INT16_MAX),
            ft_bias=_to_int(get(model.ft_bias), FT_SCALE, np.int16, INT16_MAX),
            hidden1_weight=_to_int(get(model.hidden1.weight), HIDDEN_WEIGHT_SCALE, np.int8,
                                   INT8_MAX),
            hidden1_bias=_to_int(get(model.hidden1.bias), HIDDEN_BIAS_SCALE, np.int32, int32_max),
            hidden2_weight=_to_int(get(model.hidden2.weight), HIDDEN_WEIGHT_SCALE, np.int8,
                                   INT8_MAX),
            hidden2_bias=_to_int(get(model.hidden2.bias), HIDDEN_BIAS_SCALE, np.int32, int32_max),
            output_weight=_to_int(get(model.output.weight), OUTPUT_WEIGHT_SCALE, np.int8,
                                  INT8_MAX),
            output_bias=_to_int(get(model.output.bias), OUTPUT_BIAS_SCALE, np.int32, int32_max),
        )


def dequantize(net: QuantizedNet, quantization_aware: bool = True) -> NnueModel:
    """A float model whose weights are exactly the integer net's weights divided by the scales.

    Its weights already lie on the grid, so ``quantization_aware=False`` computes the same
    function with a plain (faster) float forward pass.
    """
    import torch

    from nnue.model import NnueConfig, NnueModel

    model = NnueModel(NnueConfig(net.feature_set, net.l1, net.l2, net.l3, quantization_aware))
    with torch.no_grad():
        def put(tensor: torch.Tensor, values: np.ndarray, scale: float) -> None:
            tensor.copy_(torch.from_numpy(values.astype(np.float64) / scale))

        put(model.feature_transformer.weight[:-1], net.ft_weight, FT_SCALE)
        put(model.ft_bias, net.ft_bias, FT_SCALE)
        put(model.hidden1.weight, net.hidden1_weight, HIDDEN_WEIGHT_SCALE)
        put(model.hidden1.bias, net.hidden1_bias, HIDDEN_BIAS_SCALE)
        put(model.hidden2.weight, net.hidden2_weight, HIDDEN_WEIGHT_SCALE)
        put(model.hidden2.bias, net.hidden2_bias, HIDDEN_BIAS_SCALE)
        put(model.output.weight, net.output_weight, OUTPUT_WEIGHT_SCALE)
        put(model.output.bias, net.output_bias, OUTPUT_BIAS_SCALE)
    return model


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
    from nnue.features import FEATURE_SETS

    def fail(problem: str) -> ValueError:
        return ValueError(f"{name}: {problem}")

    if not data.startswith(MAGIC):
        raise fail("not a minizero .nnue file (bad magic)")
    if len(data) < len(MAGIC) + 4:
        raise fail("truncated inside the header")
    (header_length,) = struct.unpack_from("<I", data, len(MAGIC))
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
    sizes_ok = all(isinstance(size, int) and 1 <= size <= 4096 for size in (l1, l2, l3))
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


def load_net(path: Path) -> QuantizedNet:
    """Read a ``.nnue`` file; a missing, truncated, corrupted or foreign file -> ValueError."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{path}: cannot read ({error.strerror})") from None
    return parse_net(data, str(path))
