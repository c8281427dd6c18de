"""Units of work spread over this machine's processes or over a Ray cluster.

A *unit* is one call of a plain, importable function on picklable arguments: a tablebase
signature to solve, a batch of games to play. Workers only compute; the driver (the command the
user ran) receives each result and writes it into the run directory itself, once and
atomically. So a unit whose worker or node dies can simply run again (Ray re-runs a task whose
worker died, on another node if its own is gone), a finished unit is never written twice, and
the run directory stays the single record that ``--resume`` reads, wherever the units ran.

    --cluster local            processes of this machine (the default, nothing to install)
    --cluster ray              the running Ray cluster that Ray itself finds: RAY_ADDRESS, or
                               the cluster ``ray start --head`` left on this machine
    --cluster ray://HOST:PORT  a remote cluster through the Ray Client

Two more things only a cluster has. *Actors*: copies of a worker object that live on the
cluster and take calls one after another (self-play players that keep their network between
shards); Ray starts a dead one again, on another node if its own is gone, and re-runs the call it
was in. *Nodes that lack something*: a unit that raises ``NodeLacks`` (a node without the
Stockfish binary) is run again elsewhere, and that node, named once in a warning on stderr, gets
no more units; only when no node is left does the run stop, with the unit's one line.

This module is the only one that imports Ray, an optional extra:
``pip install -e '.[cluster]'``. See the docs page "Running on a cluster".
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import socket
import sys
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from minizero.lifeline import start_pool_worker

RAY_EXTRA = "pip install -e '.[cluster]'"
# (node, what it lacks) already named on stderr: once for the whole command, though a
# relabelling opens one set of units per shard (each finds the node again, at the cost of one
# engine that fails to start); node ids are never reused.
_NAMED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class ClusterSpec:
    """Where units run: ``backend`` "local" or "ray"; ``address`` a Ray address or None."""

    backend: str = "local"
    address: str | None = None

    def __str__(self) -> str:
        return self.address or self.backend


LOCAL = ClusterSpec()


class NodeLacks(ValueError):
    """Raised by a unit when the machine it runs on lacks what it needs (a program): one line
    saying what. Locally that ends the run; on a cluster the unit moves to another node."""


@dataclass(frozen=True)
class _Lacking:
    """What a unit that raised ``NodeLacks`` hands back from a Ray node: the node and why."""

    node: str
    reason: str


def cluster_spec(text: str) -> ClusterSpec:
    """argparse type of ``--cluster``: local, ray, or ray://HOST:PORT."""
    if text == "local":
        return LOCAL
    if text == "ray":
        return ClusterSpec("ray")
    if text.startswith("ray://") and len(text) > len("ray://"):
        return ClusterSpec("ray", text)
    raise argparse.ArgumentTypeError(
        f"unknown cluster {text!r}: use local, ray or ray://HOST:PORT")


class Units:
    """Run units and hand back their results as they finish, at most ``capacity`` at a time.

    >>> with Units(ClusterSpec(), workers=1) as units:
    ...     units.submit("four", pow, 2, 2)
    ...     units.next_done()
    ('four', 4)
    """

    def __init__(self, spec: ClusterSpec, workers: int | None = None) -> None:
        self.spec = spec
        self._running: dict[Any, Hashable] = {}  # future or Ray reference -> unit key
        self._pool: concurrent.futures.Executor | None = None
        if spec.backend == "local":
            self.capacity = max(1, workers or os.cpu_count() or 1)
            if self.capacity == 1:  # one worker: this process, no pool to start
                self._pool = _InProcess()
                return
            # forkserver, not fork: this process may already run OpenMP or numba threads,
            # which a forked child inherits broken ("fork() called from a process already
            # using GNU OpenMP"); the units are importable functions, as Ray needs them too.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn")
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.capacity, mp_context=context, initializer=start_pool_worker,
                initargs=(os.getpid(),))
        else:
            self._ray = _connect(spec)
            self.capacity = workers or max(1, int(self._ray.cluster_resources().get("CPU", 1)))
            # a worker killed mid-task: Ray runs the task again
            self._remote = self._ray.remote(max_retries=3)(_on_node)
            self._units: dict[Any, tuple[Callable, tuple]] = {}  # task -> what it runs
            self._avoided: set[str] = set()  # nodes that lacked what a unit needs
            self._actors: list[Any] = []

    def share(self, value: Any) -> Any:
        """A handle to pass a large value (a table, a net's weights) to many units: Ray keeps
        one copy in its object store; locally the value itself."""
        return value if self.spec.backend == "local" else self._ray.put(value)

    def submit(self, key: Hashable, function: Callable[..., Any], *arguments: Any) -> None:
        """Start ``function(*arguments)`` as the unit ``key``."""
        if self._pool is not None:
            self._running[self._pool.submit(function, *arguments)] = key
            return
        options = {}
        if self._avoided:  # the nodes that lacked something get no more units
            from ray.util.scheduling_strategies import NodeLabelSchedulingStrategy, NotIn

            options["scheduling_strategy"] = NodeLabelSchedulingStrategy(
                {"ray.io/node-id": NotIn(*self._avoided)})
        reference = self._remote.options(**options).remote(function, *arguments)
        self._running[reference] = key
        self._units[reference] = (function, arguments)

    def start_actors(self, worker: type, count: int, *arguments: Any) -> None:
        """Ray only: ``count`` copies of ``worker(*arguments)`` (one CPU each), called with
        ``call``. Ray starts a copy that died again, on another node if its node is gone, and
        runs the call it was in again there, so every call's result comes back once."""
        if self.spec.backend == "local":
            raise ValueError("actors need a Ray cluster: --cluster ray")
        actor = self._ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(worker)
        self._actors = [actor.remote(*arguments) for _ in range(count)]

    def call(self, key: Hashable, actor: int, method: str, *arguments: Any) -> None:
        """Queue ``method(*arguments)`` on actor number ``actor`` as the unit ``key`` (an actor
        runs its calls one after another, in the order queued)."""
        self._running[getattr(self._actors[actor], method).remote(*arguments)] = key

    @property
    def running(self) -> int:
        return len(self._running)

    def next_done(self) -> tuple[Hashable, Any]:
        """Wait for a unit to finish: its key and result (its exception is raised here)."""
        if not self._running:
            raise RuntimeError("no unit is running")
        if self._pool is not None:
            done, _ = concurrent.futures.wait(self._running,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            future = next(iter(done))
            return self._running.pop(future), future.result()
        while True:
            done, _ = self._ray.wait(list(self._running), num_returns=1)
            reference = done[0]
            key = self._running.pop(reference)
            unit = self._units.pop(reference, None)
            try:
                result = self._ray.get(reference)
            except self._ray.exceptions.RayTaskError as error:  # the unit's own exception,
                cause = getattr(error, "cause", None)               # as raised (one line)
                raise (cause if isinstance(cause, Exception) else
                       error.as_instanceof_cause()) from None
            if not isinstance(result, _Lacking):
                return key, result
            self._avoid(result)
            assert unit is not None
            self.submit(key, unit[0], *unit[1])  # again, on a node that has what it needs

    def _avoid(self, lacking: _Lacking) -> None:
        """Name a node that lacks what a unit needs once, on stderr, and send it no more units;
        ValueError (the unit's own line) when no node with CPUs is left."""
        nodes = {node["NodeID"]: node for node in self._ray.nodes()
                 if node["Alive"] and node["Resources"].get("CPU", 0) > 0}
        self._avoided.add(lacking.node)
        if (lacking.node, lacking.reason) not in _NAMED:
            _NAMED.add((lacking.node, lacking.reason))
            address = nodes.get(lacking.node, {}).get("NodeManagerAddress", "?")
            print(f"warning: Ray node {address} ({lacking.node[:8]}): {lacking.reason}; "
                  "its units go to the other nodes", file=sys.stderr, flush=True)
        if set(nodes) <= self._avoided:
            raise ValueError(f"{lacking.reason} on every node of the cluster")

    def close(self) -> None:
        """Stop: units still running are cancelled (local ones end with their pool)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        else:
            for reference in self._running:  # an actor's calls cannot be forced; they end
                self._ray.cancel(reference, force=reference in self._units)  # with it
            for actor in self._actors:
                self._ray.kill(actor)
            self._units.clear()
            self._actors = []
        self._running.clear()

    def __enter__(self) -> Units:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_streams(spec: ClusterSpec, streams: int,
                next_unit: Callable[[int], tuple[Callable[..., Any], tuple] | None],
                on_result: Callable[[int, Any], None]) -> None:
    """``streams`` sequences of units side by side, as the local workers of a data generator
    run: stream ``s`` runs ``function(*arguments)`` from ``next_unit(s)``, hands the result to
    ``on_result(s, result)`` (which writes it), then asks for its next unit; it ends when
    ``next_unit`` gives None. Each unit may depend on what the stream's earlier ones gave."""
    with Units(spec, streams) as units:
        def start(stream: int) -> None:
            unit = next_unit(stream)
            if unit is not None:
                units.submit(stream, unit[0], *unit[1])

        for stream in range(streams):
            start(stream)
        while units.running:
            stream, result = units.next_done()
            on_result(stream, result)
            start(stream)


class _InProcess(concurrent.futures.Executor):
    """An executor that runs each call at once, in this process (one local worker)."""

    def submit(self, function: Callable[..., Any], /, *arguments: Any,
               **keywords: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(function(*arguments, **keywords))
        except BaseException as error:  # noqa: BLE001 - handed back through the future
            future.set_exception(error)
        return future


def _on_node(function: Callable[..., Any], *arguments: Any) -> Any:
    """A unit as a Ray task: its result, or, when its node lacks what it needs, which node."""
    try:
        return function(*arguments)
    except NodeLacks as error:
        import ray

        return _Lacking(ray.get_runtime_context().get_node_id(), str(error))


def _connect(spec: ClusterSpec) -> Any:
    """Ray, connected to the cluster of ``spec``, or one line naming what is wrong."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"--cluster ray needs Ray: {RAY_EXTRA}") from None
    if ray.is_initialized():  # a cluster this process joined already (a test, a notebook)
        return ray
    address = spec.address or os.environ.get("RAY_ADDRESS")
    if address and address != "auto":
        _check_reachable(address)
    try:
        with warnings.catch_warnings():  # the error below says it in one line
            warnings.simplefilter("ignore")
            ray.init(address=spec.address or "auto", logging_level="ERROR",
                     log_to_driver=False)
    except Exception as error:  # noqa: BLE001 - Ray raises many kinds; one line for each
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = address or "this machine"
        raise ValueError(f"cannot join the Ray cluster at {where}: {first}") from None
    return ray


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """One line, at once, for an address nobody answers at (Ray itself retries for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"a Ray address is HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ValueError(f"cannot reach the Ray cluster at {address}: "
                         f"{error.strerror or error}") from None
