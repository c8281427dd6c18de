"""Stockfish 15.1's network file: what every byte means, and a loader that checks all of them.

Stockfish 15.1 plays with an NNUE of the "HalfKAv2_hm" family: 22,528 sparse input features per
perspective feed a feature transformer of 1,024 int16 accumulators plus 8 int32 "PSQT" sums, and
8 small dense layer stacks (1,024 -> 16 -> 32 -> 1, int8 weights), one of which is chosen by the
number of pieces on the board. The file is little-endian throughout::

    uint32 version (0x7AF32F20)  uint32 architecture hash  uint32 n  n bytes of description
    uint32 transformer hash  int16 biases[1024]  int16 weights[22528][1024]
                             int32 psqt_weights[22528][8]
    8 times: uint32 stack hash
             int32 fc_0 biases[16]  int8 fc_0 weights[16][1024]
             int32 fc_1 biases[32]  int8 fc_1 weights[32][32]   (30 inputs padded to 32)
             int32 fc_2 biases[1]   int8 fc_2 weights[1][32]
    end of file

Every hash is recomputed here from the layer sizes, the way Stockfish derives it, so a net of
another architecture (Stockfish 12-14's HalfKP, 16's bigger nets) is refused before its sizes
are even read. The same bytes are embedded in the Stockfish binary (Debian's 15.1 carries
nn-ad9b42354671.nnue); ``load_stockfish_net`` finds them there by their 8-byte header.

Reference: Stockfish 15.1 source (tag sf_15.1), src/nnue/nnue_architecture.h, nnue_common.h,
nnue_feature_transformer.h, layers/affine_transform.h; nnue-pytorch docs/nnue.md. The net is
GPL-3.0 data: this module reads the user's copy and the project never ships one.
Try it: ``python -c "from nnue.sf15.net import load_stockfish_net as L; print(L('stockfish'))"``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minizero.inputs import read_bytes

VERSION = 0x7AF32F20  # Stockfish's NNUE file version since 14 (the hash tells architectures apart)

# Sizes of the HalfKAv2_hm architecture of Stockfish 15.1.
KING_BUCKETS = 32  # king squares after mirroring to files e-h: 4 files x 8 ranks
PIECE_PLANES = 11  # own/their pawn, knight, bishop, rook, queen (10) + one plane for both kings
FEATURES = KING_BUCKETS * PIECE_PLANES * 64  # 22,528 input features per perspective
HALF_DIMENSIONS = 1024  # accumulator width per perspective
PSQT_BUCKETS = 8  # PSQT sums per perspective, one per layer stack
LAYER_STACKS = 8  # chosen by (pieces on the board - 1) // 4
FC0_OUTPUTS = 15  # plus one more output that skips straight to the end ("forward" term)
FC1_INPUTS = 2 * FC0_OUTPUTS  # squared-clipped and clipped copies of fc_0's 15 outputs
FC1_OUTPUTS = 32
PADDING = 32  # dense-layer input rows are padded to a multiple of 32 bytes in the file

# Integer scales (nnue_common.h): activations are uint8 with 127 meaning 1.0; dense weights are
# int8 with 64 (2**WEIGHT_SCALE_BITS) meaning 1.0; the last layer's output is 16 x Value units.
WEIGHT_SCALE_BITS = 6
OUTPUT_SCALE = 16

_UINT32 = 0xFFFFFFFF


def _padded(size: int) -> int:
    return (size + PADDING - 1) // PADDING * PADDING


def _affine_hash(previous: int, outputs: int) -> int:
    value = (0xCC03DAE4 + outputs) & _UINT32
    value ^= previous >> 1
    value ^= (previous << 31) & _UINT32
    return value


def _clipped_relu_hash(previous: int) -> int:
    return (0x538D24C7 + previous) & _UINT32


def _stack_hash() -> int:
    """The hash of one layer stack, chained through its layers from the input width."""
    value = 0xEC42E90D ^ (2 * HALF_DIMENSIONS)
    value = _affine_hash(value, FC0_OUTPUTS + 1)
    value = _clipped_relu_hash(value)
    value = _affine_hash(value, FC1_OUTPUTS)
    value = _clipped_relu_hash(value)
    return _affine_hash(value, 1)


TRANSFORMER_HASH = 0x7F234CB8 ^ (2 * HALF_DIMENSIONS)  # HalfKAv2_hm's feature hash ^ outputs
STACK_HASH = _stack_hash()
ARCHITECTURE_HASH = TRANSFORMER_HASH ^ STACK_HASH  # 0x1C102EF2 for Stockfish 15.1
ARCHITECTURE = "Stockfish 15.1 HalfKAv2_hm (22528 -> 1024x2 + 8 PSQT) -> 8 x (16 -> 32 -> 1)"

TRANSFORMER_BYTES = 4 + 2 * HALF_DIMENSIONS + 2 * FEATURES * HALF_DIMENSIONS \
    + 4 * FEATURES * PSQT_BUCKETS
STACK_BYTES = 4 + (4 * (FC0_OUTPUTS + 1) + (FC0_OUTPUTS + 1) * _padded(HALF_DIMENSIONS)
                   + 4 * FC1_OUTPUTS + FC1_OUTPUTS * _padded(FC1_INPUTS)
                   + 4 + _padded(FC1_OUTPUTS))
MAX_DESCRIPTION = 1 << 16  # Stockfish's own nets say a line or two; more means a corrupt field


@dataclass(frozen=True, eq=False)
class StockfishNet:
    """The parameters of a Stockfish 15.1 net, as numpy arrays in the integer types of the file.

    Feature transformer: ``transformer_biases`` (1024,) int16, ``transformer_weights``
    (22528, 1024) int16, ``psqt_weights`` (22528, 8) int32. Layer stacks, indexed by bucket:
    ``fc0_biases`` (8, 16) int32, ``fc0_weights`` (8, 16, 1024) int8, ``fc1_biases`` (8, 32)
    int32, ``fc1_weights`` (8, 32, 32) int8 (columns 30 and 31 are padding), ``fc2_biases``
    (8, 1) int32, ``fc2_weights`` (8, 1, 32) int8.
    """

    source: str
    description: str
    transformer_biases: np.ndarray
    transformer_weights: np.ndarray
    psqt_weights: np.ndarray
    fc0_biases: np.ndarray
    fc0_weights: np.ndarray
    fc1_biases: np.ndarray
    fc1_weights: np.ndarray
    fc2_biases: np.ndarray
    fc2_weights: np.ndarray

    def __repr__(self) -> str:
        return f"StockfishNet({self.source!r}, {ARCHITECTURE}, {self.description!r})"


class _Reader:
    """Reads little-endian fields from ``data``, naming ``source`` in every error."""

    def __init__(self, data: bytes | memoryview, offset: int, source: str) -> None:
        self.data, self.offset, self.source = data, offset, source
        self.start, self.total = offset, 12

    def truncated(self) -> ValueError:
        found = len(self.data) - self.start
        return ValueError(f"{self.source}: truncated Stockfish 15.1 net: {found} bytes from its "
                          f"header on, expected {self.total}")

    def uint32(self) -> int:
        if self.offset + 4 > len(self.data):
            raise self.truncated()
        (value,) = struct.unpack_from("<I", self.data, self.offset)
        self.offset += 4
        return value

    def array(self, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        count = int(np.prod(shape))
        size = np.dtype(dtype).itemsize * count
        if self.offset + size > len(self.data):
            raise self.truncated()
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += size
        return values.reshape(shape).astype(np.dtype(dtype).newbyteorder("="))

    def hash(self, expected: int, what: str) -> None:
        found = self.uint32()
        if found != expected:
            raise ValueError(f"{self.source}: {what} hash 0x{found:08X}, expected 0x{expected:08X} "
                             f"({ARCHITECTURE})")


def _parse(data: bytes | memoryview, start: int, source: str, whole_file: bool) -> StockfishNet:
    """Read a net whose header begins at ``start``; ``whole_file``: nothing may follow it."""
    reader = _Reader(data, start, source)
    version = reader.uint32()
    if version != VERSION:
        raise ValueError(f"{source}: NNUE version 0x{version:08X}, expected Stockfish 15.1's "
                         f"0x{VERSION:08X}")
    reader.hash(ARCHITECTURE_HASH, "architecture")
    description_length = reader.uint32()
    if description_length > MAX_DESCRIPTION:
        raise ValueError(f"{source}: description of {description_length} bytes, expected at most "
                         f"{MAX_DESCRIPTION} (corrupt header)")
    reader.total = 12 + description_length + TRANSFORMER_BYTES + LAYER_STACKS * STACK_BYTES
    description = bytes(reader.array("u1", (description_length,))).decode("utf-8", "replace")
    if whole_file and len(data) - start != reader.total:
        if len(data) - start < reader.total:
            raise reader.truncated()
        raise ValueError(f"{source}: {len(data) - start - reader.total} bytes after the network, "
                         f"expected the end of the file ({reader.total} bytes)")
    reader.hash(TRANSFORMER_HASH, "feature transformer")
    transformer_biases = reader.array("<i2", (HALF_DIMENSIONS,))
    transformer_weights = reader.array("<i2", (FEATURES, HALF_DIMENSIONS))
    psqt_weights = reader.array("<i4", (FEATURES, PSQT_BUCKETS))
    stacks: dict[str, list[np.ndarray]] = {name: [] for name in
                                           ("b0", "w0", "b1", "w1", "b2", "w2")}
    for bucket in range(LAYER_STACKS):
        reader.hash(STACK_HASH, f"layer stack {bucket}")
        stacks["b0"].append(reader.array("<i4", (FC0_OUTPUTS + 1,)))
        stacks["w0"].append(reader.array("i1", (FC0_OUTPUTS + 1, _padded(HALF_DIMENSIONS))))
        stacks["b1"].append(reader.array("<i4", (FC1_OUTPUTS,)))
        stacks["w1"].append(reader.array("i1", (FC1_OUTPUTS, _padded(FC1_INPUTS))))
        stacks["b2"].append(reader.array("<i4", (1,)))
        stacks["w2"].append(reader.array("i1", (1, _padded(FC1_OUTPUTS))))
    native = {key: np.stack(value) for key, value in stacks.items()}
    return StockfishNet(
        source=source, description=description, transformer_biases=transformer_biases,
        transformer_weights=transformer_weights, psqt_weights=psqt_weights,
        fc0_biases=native["b0"], fc0_weights=native["w0"], fc1_biases=native["b1"],
        fc1_weights=native["w1"], fc2_biases=native["b2"], fc2_weights=native["w2"])


def header_bytes() -> bytes:
    """The 8 bytes every Stockfish 15.1 net starts with: version and architecture hash."""
    return struct.pack("<II", VERSION, ARCHITECTURE_HASH)


EXECUTABLE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
# The most bytes read from a file: a binary that embeds the net (Debian's Stockfish 15.1 is
# 47 MB, most of it the net); a net file must be exactly its header's size anyway.
MAX_FILE_BYTES = 256 << 20


def names_stockfish_net(source: str | Path) -> bool:
    """Whether ``source`` is meant as a Stockfish net: ``stockfish`` (the installed binary), a
    file that starts with Stockfish's NNUE version, or an executable that may embed a net."""
    if str(source) == "stockfish":
        return True
    try:
        if not Path(source).is_file():  # a FIFO would block the open, /dev/zero never end
            return False
        with Path(source).open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head == struct.pack("<I", VERSION) or head.startswith(EXECUTABLE_MAGICS)


def load_stockfish_net(source: str | Path, stockfish: str | None = None) -> StockfishNet:
    """Load a Stockfish 15.1 net from a ``.nnue`` file, from a Stockfish binary that embeds one,
    or (``source == "stockfish"``) from the installed Stockfish (``stockfish`` overrides where
    it is looked for). Anything else raises ``ValueError`` with one line naming the file."""
    if str(source) == "stockfish":
        from minizero.peers import find_stockfish

        try:
            source = find_stockfish(stockfish)
        except FileNotFoundError as error:
            raise ValueError(f"stockfish: {error}") from None
    path = Path(source)
    data = read_bytes(path, "Stockfish 15.1 .nnue net, a Stockfish binary, or 'stockfish' for "
                      "the installed one", MAX_FILE_BYTES)
    if data.startswith(b"MINIZERO-NNUE"):
        raise ValueError(f"{path}: a minizero .nnue net, not a Stockfish 15.1 net (expected "
                         f"version 0x{VERSION:08X} and hash 0x{ARCHITECTURE_HASH:08X} first)")
    if data.startswith(EXECUTABLE_MAGICS):
        start = data.find(header_bytes())
        if start < 0:
            raise ValueError(f"{path}: an executable with no embedded Stockfish 15.1 net (looked "
                             f"for version 0x{VERSION:08X} with hash 0x{ARCHITECTURE_HASH:08X})")
        return _parse(memoryview(data), start, str(path), whole_file=False)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes, not a Stockfish 15.1 net")
    return _parse(memoryview(data), 0, str(path), whole_file=True)
