"""The table file: one per signature, a readable header and the values compressed, no pickle.

Layout of ``KQvKR.mztb``:

    minizero-tablebase 1\\n                      the format line (name and version)
    {"signature": "KQvKR", "entries": ..., ...}\\n  one line of JSON: the header
    zlib-compressed int16 little-endian values    one per index entry (``index.py``)

The header names the signature, the number of entries, the payload's size in bytes and the
SHA-256 of the uncompressed values, and carries the table's statistics (``table_statistics``),
so ``minizero tablebase stats`` answers without reading the values. Files are written through
``minizero.atomic`` (a crash leaves the old file or none), and a file that is truncated,
corrupt, of another version or of another signature is refused with one line naming it.

Where tables live: ``--out DIR`` or the per-user cache folder ``default_directory()``
(``$XDG_CACHE_HOME/minizero/tablebases``, usually ``~/.cache/minizero/tablebases``).
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from minizero.atomic import write_bytes
from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.index import decode, layout_of, table_size
from minizero.chessgame.tablebase.signature import Signature

FORMAT_LINE = b"minizero-tablebase 1\n"
SUFFIX = ".mztb"
MAX_HEADER_BYTES = 8192


def default_directory() -> Path:
    """The per-user cache folder where tables are built on first use."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "minizero" / "tablebases"


def table_path(directory: str | Path, signature: Signature) -> Path:
    return Path(directory) / f"{signature.name}{SUFFIX}"


def table_statistics(signature: Signature, values: np.ndarray) -> dict[str, Any]:
    """Positions and results per side to move, and the longest mate with an example.

    ``values`` is a solved table (BROKEN = -32768 marks entries that are no position).
    """
    layout = layout_of(signature)
    half = len(values) // 2
    statistics: dict[str, Any] = {}
    for block, side in enumerate(("white", "black")):
        part = values[block * half:(block + 1) * half]
        legal = part != np.int16(-32768)
        statistics[f"{side}_to_move"] = {
            "positions": int(legal.sum()), "wins": int((part > 0).sum()),
            "draws": int((legal & (part == 0)).sum()), "losses": int((legal & (part < 0)).sum())}
    wins = values > 0
    statistics["longest_mate_plies"] = 0
    if wins.any():
        index = int(np.argmin(np.where(wins, values, MATE)))
        squares = np.zeros(4, np.int64)
        turn = decode(layout, index, squares)
        statistics["longest_mate_plies"] = int(MATE - values[index])
        statistics["longest_mate_fen"] = fen_of(signature, squares, turn)
    return statistics


def fen_of(signature: Signature, squares: np.ndarray, turn: int) -> str:
    """The FEN of a position given by its squares in slot order."""
    import chess

    board = chess.Board(None)
    for square, (colour, piece) in zip(squares, signature.pieces()):
        board.set_piece_at(int(square), chess.Piece(piece, colour))
    board.turn = bool(turn)
    return board.fen()


def save_table(path: str | Path, signature: Signature, values: np.ndarray) -> dict[str, Any]:
    """Write a solved table atomically; returns its header."""
    raw = values.astype("<i2").tobytes()
    payload = zlib.compress(raw, 6)
    header = {"signature": signature.name, "entries": len(values), "dtype": "int16",
              "payload_bytes": len(payload), "sha256": hashlib.sha256(raw).hexdigest(),
              "statistics": table_statistics(signature, values)}
    line = json.dumps(header, sort_keys=True).encode() + b"\n"
    write_bytes(path, FORMAT_LINE + line + payload)
    return header


def read_header(path: str | Path, signature: Signature) -> tuple[dict[str, Any], int]:
    """The header of a table file and where its payload starts; ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such table file" if not path.exists()
                         else f"{path}: not a regular file")
    with open(path, "rb") as handle:
        start = handle.read(len(FORMAT_LINE) + MAX_HEADER_BYTES)
    if not start.startswith(FORMAT_LINE):
        if start.startswith(b"minizero-tablebase "):
            raise ValueError(f"{path}: a table of another format version; build it again "
                             "with --force")
        raise ValueError(f"{path}: not a minizero tablebase file")
    end = start.find(b"\n", len(FORMAT_LINE))
    if end < 0:
        raise ValueError(f"{path}: truncated or corrupt header")
    try:
        header = json.loads(start[len(FORMAT_LINE):end])
        entries, payload_bytes = int(header["entries"]), int(header["payload_bytes"])
        name = str(header["signature"])
        str(header["sha256"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path}: corrupt header") from None
    if name != signature.name:
        raise ValueError(f"{path}: holds {name}, not {signature.name}")
    if entries != table_size(layout_of(signature)) or payload_bytes < 0:
        raise ValueError(f"{path}: header does not fit {signature.name}'s index")
    payload_start = end + 1
    if path.stat().st_size != payload_start + payload_bytes:
        raise ValueError(f"{path}: truncated ({path.stat().st_size} bytes, expected "
                         f"{payload_start + payload_bytes})")
    return header, payload_start


def load_table(path: str | Path, signature: Signature) -> np.ndarray:
    """The values of a table file, checked against its header's size and checksum."""
    path = Path(path)
    header, payload_start = read_header(path, signature)
    expected = 2 * header["entries"]
    with open(path, "rb") as handle:
        handle.seek(payload_start)
        payload = handle.read(header["payload_bytes"])
    try:
        decompressor = zlib.decompressobj()
        raw = decompressor.decompress(payload, expected)  # never more than the table's size
        if len(raw) != expected or decompressor.unconsumed_tail or not decompressor.eof:
            raise zlib.error
    except zlib.error:
        raise ValueError(f"{path}: corrupt payload") from None
    if hashlib.sha256(raw).hexdigest() != header["sha256"]:
        raise ValueError(f"{path}: checksum mismatch (a damaged file); build it again with "
                         "--force")
    return np.frombuffer(raw, "<i2").astype(np.int16)
