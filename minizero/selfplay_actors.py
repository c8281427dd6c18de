"""Self-play on a Ray cluster by actors that keep playing while the learner trains.

``minizero selfplay --cluster ray --async``: N players (Ray actors, one CPU each) play shard
after shard of games. Each call carries the newest weights *version* when it was queued, its
weights put once per version into Ray's object store; a player loads them only when the version
changes and hands its shard back tagged with the version that played it. The driver writes each
shard once, atomically, into the run directory as the next part of the generation being filled
(``replay/gen-GGGG-part-PP.npz``, the version in the ``.json`` beside it); when the generation
has its ``ceil(games_per_generation / games_per_shard)`` shards it trains, and the version goes
up. While the run needs more shards than are coming, a player holds a second call queued behind
the one it plays, so it does not wait for the learner; near the end it holds one (little waste).

The replay window keeps a shard while the weights that played it are among the learner's last
``replay_window`` versions (``ReplayBuffer.window_shards``): the rule that, in turn, is the last
``replay_window`` generations. A shard already too stale when it arrives is not written
(``stale_dropped`` in the metrics); ``staleness`` is the mean over the games trained on of the
learner's version minus the version that played them.

Why a flag and not the default of ``--cluster ray``: this loop keeps every node busy while the
learner trains, but which games reach which generation depends on timing, so a run is no longer
reproducible bit for bit, and it is a different algorithm (games played by weights a few
versions old). Without ``--async`` a Ray run plays the same shards as a local one (the tests
compare those two); local runs always go generation by generation, simpler and deterministic.

What a crash costs: a player or node that dies is started again by Ray, which replays the call
it was in, so its shard still comes back once; a killed driver loses only shards not yet
written, and ``--resume`` goes on from the checkpoint and the shards on disk, as in turn.

Reference: the asynchronous actor/learner split of Horgan et al., "Distributed Prioritized
Experience Replay" (2018), as AlphaZero's own self-play ran. Run it (on a cluster's head):
``minizero selfplay --game hexapawn:4x4 --cluster ray --async``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from minizero.cluster import Units
from minizero.game import Game
from minizero.replay import Samples
from minizero.search.puct import PUCTConfig, network_evaluator
from minizero.selfplay import SelfPlayConfig, load_network, play_games

if TYPE_CHECKING:
    from minizero.selfplay import SelfPlayRun

QUEUED = 2  # calls each player holds: the shard it plays and the next one


class SelfPlayer:
    """A Ray actor: plays shards of games with the weights of the newest version it was sent."""

    def __init__(self, game: Game, network_config: dict[str, Any], puct: PUCTConfig,
                 selfplay: SelfPlayConfig) -> None:
        torch.set_num_threads(1)
        self.game, self.network_config, self.puct, self.selfplay = (game, network_config, puct,
                                                                    selfplay)
        self.version = -1
        self.evaluate: Any = None

    def play(self, version: int, weights: dict[str, np.ndarray], seed: list[int],
             games: int) -> tuple[int, Samples, dict[str, int]]:
        """``games`` games with the weights of ``version``: (version, samples, counts)."""
        if version != self.version:
            self.evaluate = network_evaluator(self.game, load_network(self.network_config,
                                                                      weights))
            self.version = version
        samples, stats = play_games(self.game, self.evaluate, self.puct, seed, games,
                                    self.selfplay)
        return version, samples, stats


def filled_by_actors(run: SelfPlayRun, last: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Generations of ``run`` up to ``last`` filled by players, each handed over (with its
    ``stale_dropped`` count) to be trained; the run's generation is the learner's version."""
    config = run.selfplay
    shards = -(-config.games_per_generation // config.games_per_shard)
    # Seeds unique in the run: a session starts from the count of shards already written.
    session = sum(len(run.replay.parts(g)) for g in run.replay.generations())
    queued = 0
    shared: dict[int, Any] = {}  # version -> its weights in the object store
    dropped = 0
    with Units(run.cluster, config.workers) as units:
        units.start_actors(SelfPlayer, units.capacity, run.game, run.config["network"],
                           run.puct, config)
        calls = [0] * units.capacity  # calls each player holds

        def top_up() -> None:
            """Every player plays; the least busy get a second call while the run needs more
            shards than are coming (few games are played for nothing at the end of the run).
            A player whose node is gone and that waits for a CPU to start again on cannot
            hold up the others."""
            nonlocal queued
            needed = (last - run.generation) * shards - len(run.replay.parts(run.generation + 1))
            while min(calls) == 0 or (units.running < needed and min(calls) < QUEUED):
                player = calls.index(min(calls))
                version = run.generation
                if version not in shared:  # a queued call keeps its own version's copy alive
                    shared.clear()
                    shared[version] = units.share(run.weights())
                units.call(player, player, "play", version, shared[version],
                           [run.seed, session, queued], config.games_per_shard)
                calls[player] += 1
                queued += 1

        top_up()
        while run.generation < last:
            generation = run.generation + 1
            parts = run.replay.parts(generation)
            if len(parts) >= shards:
                yield generation, {"stale_dropped": dropped}
                dropped = 0
                continue
            player, (version, samples, stats) = units.next_done()
            calls[player] -= 1
            if version <= generation - 1 - config.replay_window:  # out of the window at once
                dropped += 1
            else:
                run.replay.write(generation, parts[-1] + 1 if parts else 0, samples,
                                 {**stats, "version": version})
            top_up()
