"""Finding a game by name for the command line: ``--game hexapawn:4x3``.

Games live in their own packages (minizero never imports them); each declares a factory under
the ``minizero.games`` entry-point group of its distribution (see pyproject.toml), which takes
the text after the colon and returns a `Game`.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from minizero.game import Game


def available_games() -> list[str]:
    return sorted(point.name for point in entry_points(group="minizero.games"))


def make_game(spec: str) -> Game:
    """``"name:options"`` -> a Game; ValueError for an unknown name or bad options."""
    name, _, options = spec.partition(":")
    points = {point.name: point for point in entry_points(group="minizero.games")}
    if name not in points:
        known = ", ".join(sorted(points)) or "none installed"
        raise ValueError(f"unknown game {name!r}; known games: {known}")
    return points[name].load()(options)
