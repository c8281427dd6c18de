"""Exact grades of a network on a chess endgame, from the tablebase.

On the graded positions (every won position of a 3-man table with the learner to move, one per
table index, i.e. one of each set of symmetric twins; a fixed seeded sample of 20,000 of a
4-man table), the raw policy's favourite legal move is

* **win-keeping** when the position after it is still won for the learner;
* **distance-optimal** when it is one of the fastest mates (the tables' best value);

and on the lost positions with the defender (the learner's opponent) to move (all of a 3-man
table, the same size of sample of a 4-man one), the favourite is graded as **resistance** when
it puts mate off longest (the learner plays both sides in self-play, and table labels teach
both).

**Conversion**: from ``starts`` fixed won positions (drawn uniformly with a fixed seed, a random
symmetry each) the learner plays against the perfect defender (the tables' longest resistance;
of equal moves the first in python-chess's move order), under the game's rules (the fifty-move
rule, repetition, insufficient material end a game as a draw). The share of games the learner
mates, for the raw policy (all games in lockstep, one batched forward pass a move) and for PUCT
at ``nodes`` simulations (no noise, a fresh tree each move). Any player that chooses a move in
a state (`Player`: a UCI engine, a search) is graded the same way: `grade_choices` on its moves
in the graded positions (`GradingSet.board`), `convert` for its games from the starts.

Run it: ``minizero compare --game chess-endgame:KQvK --budget 15m --out runs/kqk`` grades every
snapshot; `grade_network` grades one net.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import chess
import chess.engine
import numpy as np
import torch

from minizero.agents import puct_agent
from minizero.chessgame import encoding
from minizero.chessgame.endgame import EndgameGame
from minizero.chessgame.game import ChessState
from minizero.chessgame.tablebase.signature import parse_signature

SAMPLE_4_MEN = 20_000
CONVERSION_STARTS = 200
GRADE_SEED = 12_345  # the graded positions and starts are the same for every net of a game
Player = Callable[[ChessState], int]  # the learner's action in a state where it is to move


@dataclass
class DefenceSet:
    """The lost positions with the defender (the learner's opponent) to move, each legal move
    marked when it resists longest (flat arrays, `offsets` per row, as in GradingSet)."""

    planes: np.ndarray
    offsets: np.ndarray
    actions: np.ndarray
    longest: np.ndarray  # (M,) bool: the move puts mate off longest
    indices: np.ndarray  # (N,) table index of each row (no symmetry applied)

    def __len__(self) -> int:
        return len(self.offsets) - 1


@dataclass
class GradingSet:
    """The graded positions with each legal move's verdict (flat arrays, `offsets` per row)."""

    planes: np.ndarray  # (N, C, 8, 8) float32, from the side to move (the learner)
    offsets: np.ndarray  # (N + 1,) int64: row i's moves are [offsets[i], offsets[i + 1])
    actions: np.ndarray  # (M,) int64 policy indices of the legal moves
    keeps: np.ndarray  # (M,) bool: the move keeps the win
    optimal: np.ndarray  # (M,) bool: the move is a fastest mate
    starts: list[chess.Board]  # the conversion starts
    indices: np.ndarray  # (N,) int64 table index of each graded position (no symmetry applied)
    defence: DefenceSet  # the defending side's positions

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def board(self, game: EndgameGame, row: int) -> chess.Board:
        """The graded position of ``row`` (the learner to move)."""
        return game.start_board(int(self.indices[row]), 0)

    def choice(self, row: int, action: int) -> int:
        """The flat position (into ``actions``) of ``action`` among ``row``'s legal moves."""
        moves = self.actions[self.offsets[row]:self.offsets[row + 1]]
        return int(self.offsets[row] + np.flatnonzero(moves == action)[0])


def grading_set(game: EndgameGame, starts: int = CONVERSION_STARTS,
                sample: int | None = None) -> GradingSet:
    """Build the graded positions of ``game`` (3 men: about 10 s; see the module docstring):
    all of a 3-man table, ``sample`` (default 20,000) of a 4-man one; the same for the lost
    positions with the defender to move."""
    game = dataclasses.replace(game, starts="uniform", within=0)  # graded on every won position
    rng = np.random.default_rng(GRADE_SEED)
    if sample is None and parse_signature(game.signature).men > 3:
        sample = SAMPLE_4_MEN
    indices, _ = game.won_starts()
    if sample is not None and len(indices) > sample:
        indices = np.sort(rng.choice(indices, sample, replace=False))
    planes, offsets, actions, keeps, optimal, kept = _scored_moves(game, indices)
    assert len(kept) == len(indices)  # a won position always has moves
    boards = [game.random_start(rng, "uniform").board for _ in range(starts)]
    values = game.tablebase().table(parse_signature(game.signature))
    assert values is not None  # built with the won starts
    half = len(values) // 2  # the second half of a table: the table's weaker side to move
    lost = half + np.flatnonzero((values[half:] < 0) & (values[half:] != np.int16(-32768)))
    if sample is not None and len(lost) > sample:
        lost = np.sort(rng.choice(lost, sample, replace=False))
    defence = _scored_moves(game, lost)  # mated positions have no moves and are left out
    return GradingSet(planes, offsets, actions, keeps, optimal, boards, kept,
                      DefenceSet(*defence[:3], *defence[4:]))


def _scored_moves(game: EndgameGame, indices: np.ndarray) -> tuple[np.ndarray, ...]:
    """Planes, offsets, actions, and per move: its value keeps the side to move's win, it is
    the best value (the fastest mate, or the longest resistance), and the indices kept -- of
    the table positions at ``indices`` (no symmetry), those with moves."""
    tables = game.tablebase()
    planes, offsets, actions, keeps, best_moves, kept = [], [0], [], [], [], []
    for index in indices:
        board = game.start_board(int(index), 0)
        scored = tables.probe_moves(board)
        if not scored:  # mate or stalemate
            continue
        best = max(value for _, value in scored)
        planes.append(game.encode(ChessState(board)))
        for move, value in scored:
            actions.append(encoding.move_to_index(move, board.turn))
            keeps.append(value > 0)
            best_moves.append(value == best)
        offsets.append(len(actions))
        kept.append(index)
    return (np.stack(planes), np.array(offsets, np.int64), np.array(actions, np.int64),
            np.array(keeps, bool), np.array(best_moves, bool), np.array(kept, np.int64))


def favourites(network: torch.nn.Module, planes: np.ndarray, offsets: np.ndarray,
               actions: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """(N,) the flat position (into ``actions``) of each row's highest-rated legal move."""
    chosen = np.zeros(len(offsets) - 1, np.int64)
    network.eval()
    with torch.inference_mode():
        for start in range(0, len(chosen), batch_size):
            stop = min(start + batch_size, len(chosen))
            logits, _ = network(torch.from_numpy(planes[start:stop]))  # (B, 4672)
            logits = logits.float().numpy()
            for row in range(start, stop):
                moves = actions[offsets[row]:offsets[row + 1]]
                chosen[row] = offsets[row] + int(np.argmax(logits[row - start, moves]))
    return chosen


def defend(game: EndgameGame, state: ChessState) -> ChessState:
    """The perfect defender's move: the longest resistance (first of equals)."""
    best = game.tablebase().best_moves(state.board)
    assert best, state.board.fen()
    return state.child(best[0][0])


def convert_raw(game: EndgameGame, network: torch.nn.Module, starts: list[chess.Board]) -> float:
    """The share of ``starts`` the raw policy mates against the perfect defender."""
    states = [ChessState(board.copy()) for board in starts]
    mated = 0
    while states:
        planes = np.stack([game.encode(state) for state in states])
        moves = [list(state.moves.items()) for state in states]
        offsets = np.cumsum([0] + [len(m) for m in moves])
        actions = np.array([action for m in moves for action, _ in m], np.int64)
        chosen = favourites(network, planes, offsets, actions) - offsets[:-1]
        going = []
        for state, choice, legal in zip(states, chosen, moves):
            state = state.child(legal[int(choice)][1])
            if game.terminal_value(state) is None:
                state = defend(game, state)
                if game.terminal_value(state) is None:
                    going.append(state)
            elif game.terminal_value(state) == -1:  # the defender to move is mated
                mated += 1
        states = going
    return mated / len(starts)


def defended_game(game: EndgameGame, player: Player, board: chess.Board) -> ChessState:
    """One game from ``board`` (the learner to move): ``player`` against the perfect defender,
    under the game's rules, to its end; the final state."""
    state = ChessState(board.copy())
    while True:
        state = game.apply(state, player(state))
        if game.terminal_value(state) is not None:
            return state
        state = defend(game, state)
        if game.terminal_value(state) is not None:
            return state


def mates(game: EndgameGame, final: ChessState) -> bool:
    """Whether a finished game ended with the defender mated."""
    return game.terminal_value(final) == -1 and final.board.turn != game.learner


def convert(game: EndgameGame, player: Player, starts: list[chess.Board]) -> float:
    """The share of ``starts`` that ``player`` mates against the perfect defender."""
    return sum(mates(game, defended_game(game, player, board)) for board in starts) / len(starts)


def convert_puct(game: EndgameGame, network: torch.nn.Module, starts: list[chess.Board],
                 nodes: int = 64) -> float:
    """The share of ``starts`` PUCT at ``nodes`` simulations mates against the perfect defender."""
    return convert(game, puct_agent(game, network, simulations=nodes), starts)


def table_player(game: EndgameGame) -> Player:
    """The tables as a player: the fastest mate (first of equals)."""
    def player(state: ChessState) -> int:
        best = game.tablebase().best_moves(state.board)
        assert best, state.board.fen()
        return encoding.move_to_index(best[0][0], state.board.turn)
    return player


def uci_player(engine: chess.engine.SimpleEngine, limit: chess.engine.Limit) -> Player:
    """A UCI engine as a player: its move in the game so far (sent with the whole move stack,
    so that it sees repetitions; a new game, with a fresh hash, at each start)."""
    def player(state: ChessState) -> int:
        board = state.to_board()
        move = engine.play(board, limit, game=board.root().fen()).move
        assert move is not None, board.fen()
        return encoding.move_to_index(move, state.board.turn)
    return player


def grade_choices(graded: GradingSet, chosen: np.ndarray) -> dict[str, float]:
    """win_keeping and optimal of the moves ``chosen`` (flat positions into ``actions``, one
    for each graded row, or for a sample of the rows)."""
    return {"win_keeping": float(graded.keeps[chosen].mean()),
            "optimal": float(graded.optimal[chosen].mean())}


def grade_network(game: EndgameGame, network: torch.nn.Module, graded: GradingSet,
                  puct_nodes: int = 0) -> dict[str, float]:
    """win_keeping, optimal, resistance (the defending side's favourite resists longest),
    conversion_raw (and conversion_puct when ``puct_nodes``)."""
    chosen = favourites(network, graded.planes, graded.offsets, graded.actions)
    defence = graded.defence
    resisting = favourites(network, defence.planes, defence.offsets, defence.actions)
    grades = {"positions": len(graded), **grade_choices(graded, chosen),
              "resistance": float(defence.longest[resisting].mean()),
              "conversion_raw": convert_raw(game, network, graded.starts)}
    if puct_nodes:
        grades["conversion_puct"] = convert_puct(game, network, graded.starts, puct_nodes)
    return grades
