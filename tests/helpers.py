"""Helpers shared by several test modules: a sink for a UCI server's output, and /proc walks."""

from __future__ import annotations

import threading
import time
from pathlib import Path


class UciLines:
    """A file-like sink for what a UCI server writes; a test waits for a line by its prefix.

    ``lines`` are consumed by ``wait_for``; ``history`` keeps every line ever written.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.lines: list[str] = []
        self.history: list[str] = []
        self.timeout = timeout
        self.changed = threading.Condition()

    def write(self, text: str) -> None:
        with self.changed:
            self.lines.extend(text.splitlines())
            self.history.extend(text.splitlines())
            self.changed.notify_all()

    def flush(self) -> None:
        pass

    def wait_for(self, prefix: str, timeout: float | None = None) -> str:
        """The first unread line starting with ``prefix`` (lines before it are consumed)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self.changed:
            while True:
                for index, line in enumerate(self.lines):
                    if line.startswith(prefix):
                        del self.lines[: index + 1]
                        return line
                left = deadline - time.monotonic()
                assert left > 0, f"no '{prefix}' in {self.lines}"
                self.changed.wait(left)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
