"""The contract every game in minizero implements.

A `Game` describes a two-player, zero-sum, perfect-information game without chance: an initial
state, whose turn it is, the legal actions as integer indices into a fixed action space, the state
an action leads to, and the value of a finished game. Searches (minimax, alpha-beta, MCTS) and
networks are written against this protocol only, so they work on Hexapawn and chess alike.

Conventions (see DESIGN.md):

* **Perspective.** Every value is from the point of view of the side to move, in [-1, 1]:
  +1 means the side to move has won, -1 that it has lost. Searches are negamax: the value of a
  state is the maximum over actions of minus the value of the child.
* **States are immutable.** `apply` returns a new state; the caller may keep the old one.
* **Actions** are ints in ``range(action_size)``; `legal_actions` lists those allowed now. The
  mapping from moves to indices is the game's business, but it is the same for both players
  (relative to the side to move) so that one policy network serves both colours.
* **Encoding.** `encode` returns float32 planes of shape ``input_shape == (C, H, W)`` seen from the
  side to move (the board is flipped for the second player).

Reference: the game interface of AlphaZero-style libraries (OpenSpiel, mctx); values in negamax
form as in Knuth & Moore, "An analysis of alpha-beta pruning" (1975).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, TypeVar

import numpy as np

State = TypeVar("State")


class Game(Protocol[State]):
    """A two-player, zero-sum, perfect-information game (see the module docstring)."""

    @property
    def name(self) -> str:
        """A short name for logs and run directories, e.g. ``"hexapawn-3x3"``."""
        ...

    @property
    def action_size(self) -> int:
        """The size of the fixed action space; legal actions are ints below it."""
        ...

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of `encode`'s output."""
        ...

    def initial_state(self) -> State:
        """The position the game starts from."""
        ...

    def to_play(self, state: State) -> int:
        """Whose turn it is: 0 for the first player, 1 for the second."""
        ...

    def legal_actions(self, state: State) -> list[int]:
        """The actions the side to move may take, in a fixed (deterministic) order.

        Empty exactly when the game is over.
        """
        ...

    def apply(self, state: State, action: int) -> State:
        """The state after the side to move plays ``action``. Raises ValueError if illegal."""
        ...

    def terminal_value(self, state: State) -> float | None:
        """``None`` while the game goes on; otherwise its value for the side to move, in [-1, 1]."""
        ...

    def key(self, state: State) -> Hashable:
        """A hashable key identifying the state (for transposition tables and solvers)."""
        ...

    def encode(self, state: State) -> np.ndarray:
        """Network input: float32 array of shape `input_shape`, from the side to move's view."""
        ...

    def symmetries(
        self, planes: np.ndarray, policy: np.ndarray
    ) -> Sequence[tuple[np.ndarray, np.ndarray]]:
        """Equivalent (planes, policy) pairs for data augmentation, the original first.

        ``policy`` is a vector over the action space. A game without symmetries returns
        ``[(planes, policy)]``.
        """
        ...

    def action_to_string(self, state: State, action: int) -> str:
        """Human notation for ``action`` played in ``state``."""
        ...
