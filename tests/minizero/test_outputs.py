"""Commands write under runs/ by default and never replace a file (a shipped net included)
without --force; the refusal is one line, exit 2 (nnue: 1), and the file keeps its bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexapawn.cli import main as hexapawn_main
from minizero.cli import main as minizero_main
from minizero.outputs import default_net_path, default_run_dir, refuse_overwrite
from nnue.cli import main as nnue_main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "nnue" / "nets" / "king-buckets-256.nnue",
           ROOT / "nnue" / "nets" / "piece-square-256.nnue",
           ROOT / "minizero" / "chessgame" / "nets" / "zero-small.pt"]


def test_default_paths_are_under_runs() -> None:
    assert default_net_path("runs/nnue-ps256/checkpoint.pt", ".nnue") == Path(
        "runs/nets/nnue-ps256.nnue")
    assert default_net_path("elsewhere/zero/checkpoints/latest.pt", ".pt") == Path(
        "runs/nets/zero.pt")
    assert default_net_path("model.pt", ".nnue") == Path("runs/nets/model.nnue")
    run = default_run_dir("selfplay", "hexapawn:3x3")
    assert run.parent == Path("runs") and run.name.startswith("selfplay-hexapawn-3x3-")


def test_refuse_overwrite(tmp_path: Path) -> None:
    refuse_overwrite(tmp_path / "new.nnue", force=False)
    existing = tmp_path / "old.nnue"
    existing.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"--out .*old.nnue exists; pass --force"):
        refuse_overwrite(existing, force=False)
    refuse_overwrite(existing, force=True)
    with pytest.raises(ValueError, match="is a directory"):
        refuse_overwrite(tmp_path, force=True)


@pytest.fixture
def tiny_hexapawn_checkpoint(tmp_path: Path) -> Path:
    data = tmp_path / "solver-3x3.npz"
    assert hexapawn_main(["dataset", "--size", "3x3", "--out", str(data)]) == 0
    run = tmp_path / "sup"
    assert minizero_main(["train", "--game", "hexapawn:3x3", "--data", str(data), "--out",
                          str(run), "--epochs", "1", "--quiet"]) == 0
    return run / "checkpoints" / "latest.pt"


@pytest.mark.parametrize("shipped", SHIPPED, ids=[path.name for path in SHIPPED])
def test_the_shipped_nets_are_refused_without_force(shipped: Path, tiny_hexapawn_checkpoint,
                                                    capsys) -> None:
    before = shipped.read_bytes()
    if shipped.suffix == ".nnue":
        code = nnue_main(["quantize", str(tiny_hexapawn_checkpoint), "--out", str(shipped)])
    else:
        code = minizero_main(["export-net", str(tiny_hexapawn_checkpoint), "--out",
                              str(shipped)])
    assert code in (1, 2)
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "exists; pass --force" in error
    assert shipped.read_bytes() == before


def test_export_net_writes_under_runs_and_needs_force_the_second_time(
        tiny_hexapawn_checkpoint: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert minizero_main(["export-net", str(tiny_hexapawn_checkpoint)]) == 0
    written = tmp_path / "runs" / "nets" / "sup.pt"
    assert written.is_file()
    assert minizero_main(["export-net", str(tiny_hexapawn_checkpoint)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert minizero_main(["export-net", str(tiny_hexapawn_checkpoint), "--force"]) == 0


def test_hexapawn_dataset_writes_under_runs_and_refuses_to_overwrite(
        tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert hexapawn_main(["dataset", "--size", "3x3"]) == 0
    written = tmp_path / "runs" / "datasets" / "hexapawn-3x3.npz"
    before = written.read_bytes()
    assert hexapawn_main(["dataset", "--size", "3x3"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert written.read_bytes() == before
    assert hexapawn_main(["dataset", "--size", "3x3", "--force"]) == 0
