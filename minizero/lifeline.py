"""Worker processes that die with their parent, kill -9 and Ctrl-C included.

A pool worker or a data-generation worker (and the engine it drives) must not outlive the
command that started it: an orphan keeps writing shards into a run that a resumed command is
writing too. Two mechanisms, both set up in the child:

- Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill the child the moment its
  parent exits, however the parent died (man 2 prctl). Set in a worker at its start, and in an
  engine subprocess through ``preexec_fn`` (`engine_preexec`), so the chain parent -> worker ->
  engine unwinds from any link.
- Elsewhere: a daemon thread polls ``os.getppid()`` and ends the process when the parent is gone
  (the child is re-parented, so its parent id changes).

Ctrl-C in a terminal sends SIGINT to the whole process group; workers ignore it, so only the
parent handles it (it terminates its workers on the way out) and the user sees one message,
not one traceback per worker.

Used by ``minizero.selfplay`` (pool initializer) and ``nnue.data`` (workers and Stockfish).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _set_parent_death_signal(signal_number: int) -> bool:
    """True when the kernel will send ``signal_number`` to this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, interval: float = 0.5) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def die_with_parent(parent: int | None = None) -> None:
    """Make this (child) process end when ``parent`` (default: its current parent) exits."""
    parent = os.getppid() if parent is None else parent
    if not _set_parent_death_signal(signal.SIGKILL):
        _watch_parent(parent)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def start_worker(parent: int | None = None) -> None:
    """Initializer of a worker process: dies with ``parent`` (the process id the parent passes,
    default: the current parent), leaves Ctrl-C to the parent."""
    with contextlib.suppress(ValueError):  # not the main thread: nothing to change
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)


def engine_preexec() -> None:
    """``preexec_fn`` for an engine subprocess: killed when the process that started it dies,
    and deaf to the terminal's Ctrl-C (its parent closes it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_parent_death_signal(signal.SIGKILL)
