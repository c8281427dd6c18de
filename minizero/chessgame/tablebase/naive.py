"""A small, plainly correct solver on python-chess: the oracle that grades ``solver.py``.

It solves a table of a king and one piece against a bare king (KQvK, KRvK, KBvK, KNvK) by
the book: list every position (kings and piece on any squares, either side to move) that
python-chess calls valid, fold the 8 board symmetries by taking the smallest of the 8
images, ask python-chess for each position's legal moves, mates and stalemates, then walk
backwards from the mates over the graph of moves. A capture leaves two bare kings, a draw.
Nothing is shared with the fast solver: not the move generator, not the index, not the
un-moves. It is slow (seconds where the fast one takes milliseconds), which is its point.

Try it: ``python -m minizero.chessgame.tablebase.naive KQvK``.
"""

from __future__ import annotations

import sys
import time
from collections import deque

import chess

from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.signature import parse_signature

Position = tuple[int, int, int, bool]  # white king, black king, white piece, White to move

_SYMMETRIES = (
    lambda square: square,
    chess.square_mirror,  # rank 1 <-> rank 8
    lambda square: chess.square(7 - chess.square_file(square), chess.square_rank(square)),
    lambda square: chess.square(7 - chess.square_file(square), 7 - chess.square_rank(square)),
)
_REFLECTIONS = (
    lambda square: square,
    lambda square: chess.square(chess.square_rank(square), chess.square_file(square)),
)
# the 8 maps of the board onto itself: 4 mirrors, each with and without the diagonal flip
IMAGES = [[reflect(mirror(square)) for square in chess.SQUARES]
          for mirror in _SYMMETRIES for reflect in _REFLECTIONS]


def canonical(position: Position) -> Position:
    """The smallest of the position's 8 images: one representative for each class."""
    white_king, black_king, piece, turn = position
    return min((image[white_king], image[black_king], image[piece], turn) for image in IMAGES)


def naive_solve(name: str) -> dict[Position, int]:
    """Every position of a king-and-piece-against-king table (canonical representatives) with
    its value for the side to move: ``MATE - n`` mates in n plies, ``-(MATE - n)`` is mated in
    n plies, 0 a draw."""
    signature = parse_signature(name)
    if signature.men != 3 or signature.has_pawns:
        raise ValueError(f"the naive solver takes one piece against a bare king, not {name}")
    piece_type = signature.white[0]
    positions: set[Position] = set()
    for white_king in chess.SQUARES:
        for black_king in chess.SQUARES:
            for piece in chess.SQUARES:
                for turn in (chess.WHITE, chess.BLACK):
                    positions.add(canonical((white_king, black_king, piece, turn)))

    valid: list[Position] = []
    value: dict[Position, int] = {}
    children: dict[Position, set[Position]] = {}
    parents: dict[Position, list[Position]] = {}
    board = chess.Board(None)
    for position in positions:
        white_king, black_king, piece, turn = position
        if len({white_king, black_king, piece}) < 3:
            continue
        board.clear()
        board.set_piece_at(white_king, chess.Piece(chess.KING, chess.WHITE))
        board.set_piece_at(black_king, chess.Piece(chess.KING, chess.BLACK))
        board.set_piece_at(piece, chess.Piece(piece_type, chess.WHITE))
        board.turn = turn
        if not board.is_valid():
            continue
        valid.append(position)
        moves = list(board.legal_moves)
        if not moves:
            value[position] = -MATE if board.is_check() else 0
            continue
        after: set[Position] = set()
        for move in moves:
            if move.to_square == piece:
                after.add((-1, -1, -1, not turn))  # the piece is taken: two bare kings
                continue
            moved = [white_king, black_king, piece]
            moved[[white_king, black_king, piece].index(move.from_square)] = move.to_square
            after.add(canonical((moved[0], moved[1], moved[2], not turn)))
        children[position] = after
    value.update({child: 0 for after in children.values() for child in after if child[0] < 0})
    for position, after in children.items():
        for child in after:
            parents.setdefault(child, []).append(position)

    # Backwards from the decided positions, nearest to mate first: a position with a move to a
    # lost position wins one ply later; one whose every move leads to a won position loses
    # one ply after the longest of those wins.
    undecided_moves = {position: len(after) for position, after in children.items()}
    queue = deque(sorted((position for position in value if value[position] != 0),
                         key=lambda position: MATE - abs(value[position])))
    while queue:
        position = queue.popleft()
        for parent in parents.get(position, []):
            if parent in value:
                continue
            if value[position] < 0:
                value[parent] = -value[position] - 1
                queue.append(parent)
            else:
                undecided_moves[parent] -= 1
                if undecided_moves[parent] == 0:
                    value[parent] = -(value[position] - 1)
                    queue.append(parent)
    return {position: value.get(position, 0) for position in valid}  # undecided: a draw


def main(argv: list[str] | None = None) -> int:
    name = (argv if argv is not None else sys.argv[1:] or ["KQvK"])[0]
    start = time.perf_counter()
    values = naive_solve(name)
    seconds = time.perf_counter() - start
    longest = max(MATE - value for value in values.values() if value > 0)
    print(f"{name}: {len(values):,} positions in {seconds:.1f} s, longest mate {longest} plies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
