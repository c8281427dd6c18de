"""A minimal UCI client for Stockfish, the teacher that labels training positions.

One process over pipes, one thread, searched by depth or nodes; fast enough to call thousands of
times a second. (python-chess's ``chess.engine`` is the reference client; it adds about a
millisecond per search through its event loop, which would cost more than a shallow search.)
Used by the NNUE data generator (nnue/data.py) and the AlphaZero one (chessgame/data.py).

Reference: the UCI protocol specification (Huber, Meyer-Kahlen, 2004). Try it:
``python -c "from minizero.chessgame.stockfish import UciEngine as U; print(U('stockfish')
.search([], 8, None))"``.
"""

from __future__ import annotations

import subprocess

from minizero.cluster import NodeLacks
from minizero.lifeline import engine_preexec

MATE_SCORE = 30000  # centipawn value reported for "mate found", from the side to move


class UciEngine:
    """A UCI engine process: ``search(moves, depth, nodes)`` -> (score cp, best move UCI)."""

    def __init__(self, path: str, hash_mb: int = 16) -> None:
        try:
            self.process = subprocess.Popen(  # killed with the process that started it
                [path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, bufsize=1, preexec_fn=engine_preexec,
            )
        except OSError as error:
            # NodeLacks: on a cluster, the unit moves to a node that has the engine
            raise NodeLacks(f"{path}: cannot start the engine ({error.strerror})") from None
        self._send("uci")
        self._read_until("uciok")
        self._send("setoption name Threads value 1")
        self._send(f"setoption name Hash value {hash_mb}")
        self._send("isready")
        self._read_until("readyok")

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _read_until(self, prefix: str) -> list[str]:
        assert self.process.stdout is not None
        lines = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("Stockfish exited unexpectedly")
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def new_game(self) -> None:
        self._send("ucinewgame")

    def search(self, moves: list[str], depth: int | None, nodes: int | None,
               fen: str | None = None) -> tuple[int, str]:
        """Search ``fen`` (default the start position) + ``moves``; return (score in cp from
        the side to move, best move UCI). A mate score is returned as +-MATE_SCORE."""
        position = f"position fen {fen}" if fen else "position startpos"
        self._send(position + (" moves " + " ".join(moves) if moves else ""))
        self._send(f"go nodes {nodes}" if nodes else f"go depth {depth}")
        score = 0
        best = ""
        for line in self._read_until("bestmove"):
            if line.startswith("bestmove"):
                best = line.split()[1]
            elif " score " in line and "bound" not in line:
                tokens = line.split()
                at = tokens.index("score")
                value = int(tokens[at + 2])
                mate = MATE_SCORE if value > 0 else -MATE_SCORE
                score = value if tokens[at + 1] == "cp" else mate
        return score, best

    def close(self) -> None:
        try:
            self._send("quit")
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
