"""Material signatures: which men a table holds, its name, and the tables it leads into.

A signature names the men of each side, kings first, the side written first being White in the
table: ``KQvKR`` is white king and queen against black king and rook. A position with the
colours the other way round (black queen against white rook) is looked up in the same table
with the board mirrored top to bottom and the colours swapped. Names follow the Syzygy
convention: the side with more men first, then the side with the stronger men (Q > R > B > N >
P), each side's men strongest first. Tables hold up to four men, kings included.

A capture leads into a table with one man fewer; a promotion into a table with the pawn
replaced by a queen, rook, bishop or knight. Those are the tables a table depends on
(``dependencies``), built before it.

Try it: ``minizero tablebase stats KRvK``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import chess

MAX_MEN = 4
LETTERS = "PNBRQ"  # index + 1 is python-chess's piece type: PAWN=1 ... QUEEN=5
PIECE_ORDER = (chess.QUEEN, chess.ROOK, chess.BISHOP, chess.KNIGHT, chess.PAWN)  # strongest first


@dataclass(frozen=True)
class Signature:
    """The men besides the kings: ``white`` and ``black`` piece types, strongest first."""

    white: tuple[int, ...]
    black: tuple[int, ...]

    @property
    def name(self) -> str:
        def side(pieces: tuple[int, ...]) -> str:
            return "K" + "".join(LETTERS[piece - 1] for piece in pieces)
        return f"{side(self.white)}v{side(self.black)}"

    @property
    def men(self) -> int:
        return 2 + len(self.white) + len(self.black)

    @property
    def has_pawns(self) -> bool:
        return chess.PAWN in self.white or chess.PAWN in self.black

    def pieces(self) -> list[tuple[chess.Color, chess.PieceType]]:
        """(colour, type) of each man in the table's slot order: the two kings, White's men,
        Black's men. The index (``index.py``) lays out squares in this order."""
        return ([(chess.WHITE, chess.KING), (chess.BLACK, chess.KING)]
                + [(chess.WHITE, piece) for piece in self.white]
                + [(chess.BLACK, piece) for piece in self.black])

    def dependencies(self) -> list[Signature]:
        """The tables a capture or a promotion leads into (canonical, without duplicates)."""
        found: dict[str, Signature] = {}
        for colour in (chess.WHITE, chess.BLACK):
            own = list(self.white if colour == chess.WHITE else self.black)
            other = list(self.black if colour == chess.WHITE else self.white)
            for position in range(len(own)):
                # a capture of this man
                rest = own[:position] + own[position + 1:]
                if rest or other:  # two bare kings are a draw, not a table
                    captured = _from_sides(rest, other)
                    found[captured.name] = captured
                # a promotion of this man
                if own[position] == chess.PAWN:
                    for piece in (chess.QUEEN, chess.ROOK, chess.BISHOP, chess.KNIGHT):
                        promoted = _from_sides(rest + [piece], other)
                        found[promoted.name] = promoted
        return list(found.values())


def _side_key(pieces: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """Orders sides: more men first, then stronger men."""
    return (len(pieces),) + tuple(sorted(pieces, reverse=True))


def _from_sides(white: list[int], black: list[int]) -> Signature:
    white_sorted = tuple(sorted(white, key=PIECE_ORDER.index))
    black_sorted = tuple(sorted(black, key=PIECE_ORDER.index))
    if _side_key(black_sorted) > _side_key(white_sorted):
        white_sorted, black_sorted = black_sorted, white_sorted
    return Signature(white_sorted, black_sorted)


def parse_signature(text: str) -> Signature:
    """'KQvKR' (any case, 'v' between the sides) -> its canonical Signature.

    Raises ValueError with one line for anything that is not a table of 3 to 4 men.
    """
    cleaned = text.strip().upper()
    sides = cleaned.split("V")
    if len(sides) != 2 or not all(side.startswith("K") for side in sides):
        raise ValueError(f"'{text}' is not a material signature: write it like KQvKR "
                         "(each side's king first, 'v' between the sides)")
    pieces: list[list[int]] = []
    for side in sides:
        body = side[1:]
        if "K" in body:
            raise ValueError(f"'{text}': each side has exactly one king")
        unknown = [letter for letter in body if letter not in LETTERS]
        if unknown:
            raise ValueError(f"'{text}': unknown piece letter '{unknown[0]}' (use Q R B N P)")
        pieces.append([LETTERS.index(letter) + 1 for letter in body])
    men = 2 + len(pieces[0]) + len(pieces[1])
    if men > MAX_MEN:
        raise ValueError(f"'{text}' has {men} men; the tables hold at most {MAX_MEN}")
    if men < 3:
        raise ValueError(f"'{text}' is two bare kings, a draw: there is no table for it")
    return _from_sides(pieces[0], pieces[1])


def signature_of_board(board: chess.Board) -> tuple[Signature, bool]:
    """The table a position belongs to, and whether its colours are the table's swapped (the
    position is then looked up mirrored top to bottom, colours and side to move swapped)."""
    sides = []
    for colour in (chess.WHITE, chess.BLACK):
        men = board.occupied_co[colour] & ~board.kings
        sides.append([board.piece_type_at(square) or 0 for square in chess.scan_forward(men)])
    signature = _from_sides(sides[0], sides[1])
    return signature, signature.white != tuple(sorted(sides[0], key=PIECE_ORDER.index))


def all_signatures(max_men: int) -> list[Signature]:
    """Every table of 3 to ``max_men`` men, each after the tables it depends on."""
    if not 3 <= max_men <= MAX_MEN:
        raise ValueError(f"--all takes 3 or {MAX_MEN} men, not {max_men}")
    found: dict[str, Signature] = {}
    for extra in range(1, max_men - 1):
        for pieces in itertools.combinations_with_replacement(PIECE_ORDER, extra):
            for split in range(len(pieces) + 1):
                for white in itertools.combinations(pieces, split):
                    black = list(pieces)
                    for piece in white:
                        black.remove(piece)
                    signature = _from_sides(list(white), black)
                    found[signature.name] = signature
    return build_order(list(found.values()))


def build_order(signatures: list[Signature]) -> list[Signature]:
    """The given tables and everything they depend on, dependencies first."""
    ordered: list[Signature] = []
    seen: set[str] = set()

    def visit(signature: Signature) -> None:
        if signature.name in seen:
            return
        seen.add(signature.name)
        for dependency in signature.dependencies():
            visit(dependency)
        ordered.append(signature)

    for signature in signatures:
        visit(signature)
    return ordered
