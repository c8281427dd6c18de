"""The ``minizero`` command: one subcommand per job, a plain argparse with subparsers.

Each subcommand registers itself with an ``add_<name>_parser(subparsers)`` function and runs
through the ``run`` function it sets as its default. Try ``minizero match --help``.
"""

from __future__ import annotations

import argparse
import sys

from minizero import __version__, arena


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minizero", description="Neural chess engines explained by building them.")
    parser.add_argument("--version", action="version", version=f"minizero {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    arena.add_match_parser(subparsers)
    arena.add_openings_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"minizero {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minizero {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
