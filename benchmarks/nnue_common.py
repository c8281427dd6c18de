"""Where the NNUE benchmarks find the big dataset, run and shipped net, and how they say so."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "sf"  # nnue data --out data/sf --positions 1200000 --depth 6 --seed 1
RUN = ROOT / "runs" / "nnue-ps256"  # nnue train --data data/sf --out runs/nnue-ps256 ...
SHIPPED_NET = ROOT / "nnue" / "nets" / "piece-square-256.nnue"  # nnue quantize RUN/checkpoint.pt
PLAYING_NET = ROOT / "nnue" / "nets" / "king-buckets-256.nnue"  # nnue-uci's default (README)

REPRODUCE = """\
  nnue data --out data/sf --positions 1200000 --depth 6 --shard-size 20000 --seed 1
  nnue train --data data/sf --out runs/nnue-ps256 --epochs 12 --quiet
  nnue quantize runs/nnue-ps256/checkpoint.pt --out nnue/nets/piece-square-256.nnue"""


REPRODUCE_PLAYING = """\
  nnue data --out data/sf-d6 --positions 2000000 --depth 6 --shard-size 20000 --seed 3
  nnue train --data data/sf-d6 --out runs/nnue-kb256-d6 --feature-set king-buckets \\
      --init nnue/nets/piece-square-256.nnue --epochs 5 --lr 1e-3
  nnue quantize runs/nnue-kb256-d6/checkpoint.pt --out nnue/nets/king-buckets-256.nnue"""


def require(path: Path) -> bool:
    """True if ``path`` exists; otherwise print how to make it."""
    if path.exists():
        return True
    how = REPRODUCE_PLAYING if path == PLAYING_NET else REPRODUCE
    print(f"missing {path.relative_to(ROOT)}; make it with:\n{how}")
    return False
