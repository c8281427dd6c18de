"""Move ordering: the best move first, so alpha-beta cuts off early.

Alpha-beta visits about the square root of the minimax tree only when the best move comes
first. The order used here, from most to least promising: the transposition table's move (the
best move of an earlier search of this position), captures by MVV-LVA (most valuable victim,
least valuable attacker), promotions, the two killer moves of this ply (quiet moves that caused
a cut-off in a sibling), then the other quiet moves by their history score (how often and how
deep they caused cut-offs anywhere; the table is halved when a score grows past a limit, which
ages it). Quiescence searches only captures and queen promotions, minus those that delta pruning
proves useless.

Reference: Chess Programming Wiki, "Move Ordering", "MVV-LVA", "Killer Heuristic",
"History Heuristic", "Delta Pruning".
"""

from __future__ import annotations

from collections.abc import Iterator

import chess

# Piece values for move ordering (MVV-LVA) and delta pruning, indexed by piece type 1..6.
ORDER_VALUES = (0, 100, 320, 330, 500, 900, 2000)
PROMOTION_RANKS = chess.BB_RANK_1 | chess.BB_RANK_8
HISTORY_LIMIT = 50_000  # history is halved past this, so it stays below the killers' order keys


def _first(item: tuple) -> int:
    return item[0]


def _square_pair(move: chess.Move | None) -> int:
    return -1 if move is None else move.from_square * 64 + move.to_square


class MoveOrdering:
    """Killers per ply and history per (colour, from, to), kept for a whole game."""

    def __init__(self, max_ply: int) -> None:
        self.max_ply = max_ply
        self.clear()

    def clear(self) -> None:
        self.history = [[0] * 4096 for _ in range(2)]  # [colour][from * 64 + to]
        self.killers: list[list[chess.Move | None]] = [
            [None, None] for _ in range(self.max_ply + 2)]

    def is_killer(self, move: chess.Move, ply: int) -> bool:
        killers = self.killers[ply]
        return killers[0] == move or killers[1] == move

    def remember_cutoff(self, board: chess.Board, move: chess.Move, ply: int, depth: int) -> None:
        """A quiet ``move`` refuted this position: make it a killer and raise its history."""
        killers = self.killers[ply]
        if killers[0] != move:
            killers[1], killers[0] = killers[0], move
        colour_history = self.history[board.turn]
        pair = move.from_square * 64 + move.to_square
        colour_history[pair] += depth * depth
        if colour_history[pair] > HISTORY_LIMIT:
            # History ageing: halve the whole table of this colour. Scores keep their order
            # (a cap would tie every busy move at the limit) and stay below the killers' keys,
            # and old cut-offs fade before recent ones.
            colour_history[:] = [score // 2 for score in colour_history]

    def staged_moves(
        self, board: chess.Board, table_move: chess.Move | None, ply: int
    ) -> Iterator[tuple[chess.Move, bool]]:
        """Staged move generation: the hash move first, the others only if it did not cut.

        Most cut-offs come from the hash move, and generating and ordering every legal move
        is the most expensive step of a node, so it is put off until it is needed.
        """
        if table_move is not None and board.is_legal(table_move):
            yield table_move, False
            for move, quiet in self.ordered_moves(board, None, ply):
                if move != table_move:
                    yield move, quiet
        else:
            yield from self.ordered_moves(board, None, ply)

    def ordered_moves(
        self, board: chess.Board, table_move: chess.Move | None, ply: int
    ) -> list[tuple[chess.Move, bool]]:
        """All legal moves, best first, as (move, quiet) pairs.

        Quiet means neither a capture nor a promotion.
        """
        # Moves are compared as from * 64 + to integers: much cheaper than Move.__eq__.
        table = _square_pair(table_move)
        killer_1, killer_2 = (_square_pair(killer) for killer in self.killers[ply])
        history = self.history[board.turn]
        theirs = board.occupied_co[not board.turn]
        piece_type_at = board.piece_type_at
        ep_square = board.ep_square
        scored = []
        for move in board.generate_legal_moves():
            to_square = move.to_square
            pair = move.from_square * 64 + to_square
            if pair == table and move.promotion == table_move.promotion:
                order, quiet = 10_000_000, False
            elif (1 << to_square) & theirs:
                order = 1_000_000 + 10 * ORDER_VALUES[piece_type_at(to_square)] \
                    - ORDER_VALUES[piece_type_at(move.from_square)]
                quiet = False
            elif move.promotion:
                order, quiet = 900_000 + ORDER_VALUES[move.promotion], False
            elif to_square == ep_square and board.pawns & (1 << move.from_square):
                order, quiet = 1_000_000 + 9 * ORDER_VALUES[chess.PAWN], False
            elif pair == killer_1:
                order, quiet = 800_000, True
            elif pair == killer_2:
                order, quiet = 700_000, True
            else:
                order, quiet = history[pair], True
            scored.append((order, move, quiet))
        scored.sort(key=_first, reverse=True)
        return [(move, quiet) for _, move, quiet in scored]


def ordered_captures(
    board: chess.Board, stand_pat: int, alpha: int, delta_margin: int
) -> list[chess.Move]:
    """Legal captures and queen promotions by MVV-LVA, less those delta pruning drops."""
    scored = []
    mine, theirs = board.occupied_co[board.turn], board.occupied_co[not board.turn]
    for move in board.generate_legal_moves(mine, theirs):
        if move.promotion not in (None, chess.QUEEN):
            continue
        victim = ORDER_VALUES[board.piece_type_at(move.to_square)]
        gain = victim + (800 if move.promotion else 0)
        # Delta pruning: even winning this material cannot bring the score up to alpha.
        if stand_pat + gain + delta_margin < alpha:
            continue
        scored.append((10 * gain - ORDER_VALUES[board.piece_type_at(move.from_square)], move))
    if board.ep_square is not None:
        for move in board.generate_legal_ep():
            scored.append((9 * ORDER_VALUES[chess.PAWN], move))
    promoting = board.pawns & mine & (chess.BB_RANK_7 if board.turn else chess.BB_RANK_2)
    if promoting:
        for move in board.generate_legal_moves(promoting, PROMOTION_RANKS & ~board.occupied):
            if move.promotion == chess.QUEEN:
                scored.append((8000, move))
    scored.sort(key=_first, reverse=True)
    return [move for _, move in scored]
