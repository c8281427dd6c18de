"""Hexapawn, the book's final chapter: the game, its exact solution, the learners it grades."""

from hexapawn.game import Hexapawn, Position, parse_position, parse_size

__all__ = ["Hexapawn", "Position", "parse_position", "parse_size"]
