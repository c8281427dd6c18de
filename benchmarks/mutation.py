"""Mutation testing: plant one small, realistic bug at a time and see whether the tests notice.

mutmut and friends generate thousands of operator swaps and need hours on two cores; this list
holds the bugs a person writing these cores could plausibly make (a sign, a missing term, a
guard dropped, the skip connection forgotten), over the PUCT search, the network, the trainer,
self-play and the alpha-beta chess search. Each mutant is made in a scratch copy of the source
(the working tree is never touched), and only the tests that cover the mutated file run against
it: a mutant is *killed* when they fail, *survives* when they pass. The score is the share of
mutants killed. The first six are the bugs that issue 13 found surviving the whole suite.

Run it: ``make mutation`` (``python -m benchmarks.mutation [NAME ...]``; about ten minutes).
Writes benchmarks/results/mutation.json and .md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import markdown_table, write_results

ROOT = Path(__file__).resolve().parent.parent
# The quick, targeted tests first: pytest -x stops at the first failure.
PUCT_TESTS = ("tests/minizero/test_mutations.py", "tests/minizero/test_puct.py")
NET_TESTS = ("tests/minizero/test_mutations.py", "tests/minizero/test_nn.py")
TRAIN_TESTS = ("tests/minizero/test_mutations.py", "tests/hexapawn/test_experiment.py")
SELFPLAY_TESTS = ("tests/minizero/test_selfplay.py",)
CHESS_TESTS = ("tests/minizero/test_uci_reliability.py", "tests/minizero/test_chess_search.py")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS = [
    # -- the six that issue 13 found surviving
    Mutant("puct: Dirichlet noise at every expanded node", "minizero/search/puct.py",
           "            leaf.expand(self.game.legal_actions(leaf.state), prior)",
           "            if self.config.add_noise:\n"
           "                eps = self.config.dirichlet_epsilon\n"
           "                prior = (1 - eps) * np.asarray(prior) + eps * self.rng.dirichlet(\n"
           "                    [self.config.dirichlet_alpha] * len(prior))\n"
           "            leaf.expand(self.game.legal_actions(leaf.state), prior)", PUCT_TESTS),
    Mutant("puct: virtual loss never removed", "minizero/search/puct.py",
           "self._add_virtual_loss(path, -1)", "self._add_virtual_loss(path, 0)", PUCT_TESTS),
    Mutant("puct: first-play-urgency reduction sign flipped", "minizero/search/puct.py",
           "fpu = parent_value - config.fpu_reduction",
           "fpu = parent_value + config.fpu_reduction", PUCT_TESTS),
    Mutant("network: residual block without skip", "minizero/nn/blocks.py",
           "return torch.relu(out + x)", "return torch.relu(out)", NET_TESTS),
    Mutant("training: value loss toward the negated target", "minizero/train.py",
           "value_loss = functional.mse_loss(value_output, value)",
           "value_loss = functional.mse_loss(value_output, -value)", TRAIN_TESTS),
    Mutant("chess: null move and futility allowed in check", "minizero/chessgame/tree.py",
           "if not in_check and not pv_node and abs(beta) < MATE_BOUND:",
           "if not pv_node and abs(beta) < MATE_BOUND:", CHESS_TESTS),
    # -- more of the same kind
    Mutant("puct: backed-up value not negated for the opponent", "minizero/search/puct.py",
           "                node_value = -value\n", "                node_value = value\n",
           PUCT_TESTS),
    Mutant("puct: exploration grows with N instead of sqrt(N)", "minizero/search/puct.py",
           "math.sqrt(max(total, 1.0))", "max(total, 1.0)", PUCT_TESTS),
    Mutant("puct: temperature applied upside down", "minizero/search/puct.py",
           "scaled = counts ** (1.0 / temperature)", "scaled = counts ** temperature",
           PUCT_TESTS),
    Mutant("puct: noise weight inverted", "minizero/search/puct.py",
           "(1 - eps) * root.priors + eps * noise", "eps * root.priors + (1 - eps) * noise",
           PUCT_TESTS),
    Mutant("network: squeeze-excitation without its sigmoid", "minizero/nn/blocks.py",
           "torch.sigmoid(gamma)[:, :, None, None] * x", "gamma[:, :, None, None] * x",
           NET_TESTS),
    Mutant("network: illegal moves not masked", "minizero/nn/network.py",
           "logits = logits.masked_fill(~legal, -math.inf)", "logits = logits", NET_TESTS),
    Mutant("training: WDL target with win and loss swapped", "minizero/train.py",
           "[value.clamp(min=0), 1 - value.abs(), (-value).clamp(min=0)]",
           "[(-value).clamp(min=0), 1 - value.abs(), value.clamp(min=0)]", TRAIN_TESTS),
    Mutant("training: policy loss sign flipped", "minizero/train.py",
           "policy_loss = -(policy * functional.log_softmax",
           "policy_loss = (policy * functional.log_softmax", TRAIN_TESTS),
    Mutant("training: minibatches not seeded by step (resume differs)", "minizero/train.py",
           "rng = np.random.default_rng([self.seed, self.step])",
           "rng = np.random.default_rng()", ("tests/minizero/test_chaos.py",)),
    Mutant("self-play: outcomes stored from the wrong side", "minizero/selfplay.py",
           "final if player == last_player else -final",
           "-final if player == last_player else final", SELFPLAY_TESTS),
    Mutant("chess: mate not scored by distance", "minizero/chessgame/tree.py",
           "return -MATE + ply if in_check else 0", "return -MATE if in_check else 0",
           CHESS_TESTS),
    Mutant("chess: no check extension", "minizero/chessgame/tree.py",
           "            depth += 1\n", "            depth += 0\n", CHESS_TESTS),
    Mutant("chess: quiescence never stands pat", "minizero/chessgame/tree.py",
           "            if stand_pat >= beta:\n                return stand_pat\n",
           "", CHESS_TESTS),
    Mutant("chess: PVS without re-search", "minizero/chessgame/tree.py",
           "        if alpha < score < beta:\n            score = -self._negamax(depth - 1, -beta,",
           "        if False:\n            score = -self._negamax(depth - 1, -beta,", CHESS_TESTS),
    Mutant("chess: repetition looks at the wrong side's positions", "minizero/chessgame/tree.py",
           "for index in range(last - 4, max(last - halfmove_clock, 0) - 1, -2):",
           "for index in range(last - 3, max(last - halfmove_clock, 0) - 1, -2):", CHESS_TESTS),
    Mutant("chess: reverse futility margin sign flipped", "minizero/chessgame/tree.py",
           "static_eval - self.config.futility_margin * depth >= beta",
           "static_eval + self.config.futility_margin * depth >= beta", CHESS_TESTS),
]


def scratch_copy(destination: Path) -> None:
    for name in ("minizero", "hexapawn", "nnue", "tests", "benchmarks"):
        shutil.copytree(ROOT / name, destination / name,
                        ignore=shutil.ignore_patterns("__pycache__", "results"))
    shutil.copy(ROOT / "pyproject.toml", destination / "pyproject.toml")


def run_mutant(mutant: Mutant, scratch: Path, timeout: float = 600) -> tuple[str, float]:
    """'killed' / 'survived' / 'timeout' and the seconds the tests took."""
    target = scratch / mutant.path
    original = target.read_text()
    if original.count(mutant.old) != 1:
        raise ValueError(f"{mutant.name}: the text to mutate is not found once in {mutant.path}")
    target.write_text(original.replace(mutant.old, mutant.new))
    started = time.perf_counter()
    try:
        # -p no:cacheprovider: nothing written into the scratch copy's tests between mutants
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             *mutant.tests], cwd=scratch, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(scratch)})
        verdict = "survived" if result.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        verdict = "timeout"  # counted as killed: the bug made the tests hang
    finally:
        target.write_text(original)
    return verdict, time.perf_counter() - started


def main(names: list[str]) -> None:
    """Run the chosen mutants (default all); their records replace earlier ones of the same
    name in benchmarks/results/mutation.json, each stamped with the commit it ran against."""
    chosen = [m for m in MUTANTS if not names or any(n in m.name for n in names)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    results = ROOT / "benchmarks" / "results" / "mutation.json"
    earlier = ({record["mutant"]: record for record in json.loads(results.read_text())["mutants"]}
               if names and results.exists() else {})
    with tempfile.TemporaryDirectory(prefix="minizero-mutants-") as directory:
        scratch = Path(directory)
        scratch_copy(scratch)
        for mutant in chosen:
            verdict, seconds = run_mutant(mutant, scratch)
            print(f"{verdict:8s} {seconds:6.1f} s  {mutant.name}", flush=True)
            earlier[mutant.name] = {"mutant": mutant.name, "file": mutant.path,
                                    "verdict": verdict, "seconds": round(seconds, 1),
                                    "tests": list(mutant.tests), "commit": commit}
    records = [earlier[m.name] for m in MUTANTS if m.name in earlier]
    rows = [[r["mutant"], r["file"], r["verdict"], f"{r['seconds']:.0f}", r.get("commit", "")]
            for r in records]
    killed = sum(record["verdict"] != "survived" for record in records)
    score = f"{killed}/{len(records)} mutants killed ({killed / max(1, len(records)):.0%})"
    table = markdown_table(["mutant", "file", "verdict", "test s", "commit"], rows)
    table += f"\n\n{score}\n"
    write_results("mutation", {"score": score, "killed": killed, "total": len(records),
                               "mutants": records}, table)


if __name__ == "__main__":
    main(sys.argv[1:])
