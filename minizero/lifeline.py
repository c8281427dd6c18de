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

Used by ``minizero.selfplay`` (pool initializer) and, through ``run_workers``, by the data
generators of ``nnue.data`` and ``minizero.chessgame.data`` (workers and their Stockfish).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


def start_pool_worker(driver: int) -> None:
    """Initializer of a worker that a fork server started (``minizero.cluster``): its parent
    is the server, and the server outlives a killed ``driver`` as long as its workers hold it
    open, so the worker also watches the driver's process id and ends when it is gone."""
    start_worker()

    def watch() -> None:
        while _alive(driver):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="driver-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    """Is process ``pid`` running (a zombie, killed but not yet reaped, is not)?"""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel whether the id exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


def engine_preexec() -> None:
    """``preexec_fn`` for an engine subprocess: killed when the process that started it dies,
    and deaf to the terminal's Ctrl-C (its parent closes it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_parent_death_signal(signal.SIGKILL)


def _worker_main(target: Callable[..., None], worker: int, arguments: tuple[Any, ...],
                 progress: multiprocessing.Queue, parent: int) -> None:
    start_worker(parent)
    try:
        target(worker, *arguments, progress)
    except (ValueError, OSError) as error:  # bad data, a full disk: the parent says it once
        progress.put(WorkerFailure(worker, isinstance(error, OSError), str(error)))
        progress.close()
        progress.join_thread()
        os._exit(1)


@dataclass(frozen=True)
class WorkerFailure:
    """What a worker puts on the progress queue instead of a count when it fails."""

    worker: int
    disk: bool  # an OSError (the parent raises one too), else a ValueError
    message: str

    def error(self) -> Exception:
        text = f"data worker {self.worker} failed: {self.message}"
        return OSError(text) if self.disk else ValueError(text)


def run_workers(target: Callable[..., None], arguments: tuple[Any, ...], workers: int,
                total: int, quiet: bool = False) -> None:
    """Run ``target(worker, *arguments, progress)`` in ``workers`` processes that die with this
    one, and show what they put on ``progress`` (counts of finished items) as one tqdm bar of
    ``total`` on stderr. A worker's ValueError or OSError (bad data, a full disk) stops them all
    and is raised here as one line naming the worker; ChildProcessError when a worker dies
    otherwise; Ctrl-C terminates them all.

    Workers fork where the platform can: "spawn" re-imports the caller's ``__main__``, which
    breaks scripts and notebooks without an ``if __name__ == "__main__"`` guard.
    """
    from tqdm import tqdm

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    progress: multiprocessing.Queue = context.Queue()
    processes = [context.Process(target=_worker_main,
                                 args=(target, worker, arguments, progress, os.getpid()),
                                 daemon=True) for worker in range(workers)]
    for process in processes:
        process.start()
    bar = tqdm(total=total, unit="pos", disable=True if quiet else None, smoothing=0.05)
    failure = None
    try:
        while failure is None and any(process.is_alive() for process in processes):
            with contextlib.suppress(queue.Empty):
                item = progress.get(timeout=0.5)
                if isinstance(item, WorkerFailure):
                    failure = item
                else:
                    bar.update(item)
        with contextlib.suppress(queue.Empty):  # a failure put just before the worker ended
            while failure is None:
                item = progress.get(timeout=0.1)
                failure = item if isinstance(item, WorkerFailure) else None
    finally:
        bar.close()
        for process in processes:
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
    if failure is not None:
        raise failure.error()
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    if failed:
        raise ChildProcessError(f"{len(failed)} data worker(s) died (exit codes {failed})")
