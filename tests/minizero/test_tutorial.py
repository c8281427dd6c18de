"""The tutorials' shared helpers: the figures folder is checked before any work is done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minizero.tutorial import output_dir

ROOT = Path(__file__).resolve().parent.parent.parent


def test_output_dir_defaults_under_runs_and_honours_the_variable(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MINIZERO_TUTORIAL_OUT", raising=False)
    assert output_dir() == Path("runs/tutorials") and (tmp_path / "runs/tutorials").is_dir()
    monkeypatch.setenv("MINIZERO_TUTORIAL_OUT", str(tmp_path / "elsewhere"))
    assert output_dir() == tmp_path / "elsewhere"
    assert list((tmp_path / "elsewhere").iterdir()) == []  # the write check leaves nothing


def test_an_unwritable_folder_is_one_clear_line(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MINIZERO_TUTORIAL_OUT", str(blocker / "figures"))
    with pytest.raises(SystemExit) as raised:
        output_dir()
    assert "cannot write the tutorial's figures" in str(raised.value)
    assert "MINIZERO_TUTORIAL_OUT" in str(raised.value)


def test_a_tutorial_in_an_unwritable_directory_stops_at_once(tmp_path) -> None:
    # root may write anywhere, so a file standing where the folder should be makes it fail
    (tmp_path / "runs").write_text("not a folder")
    env = {key: value for key, value in os.environ.items() if key != "MINIZERO_TUTORIAL_OUT"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tutorials" / "02_deep_networks.py")], cwd=tmp_path,
        env=dict(env, MINIZERO_TUTORIAL_SMALL="1", MPLBACKEND="Agg"), capture_output=True,
        text=True, timeout=300)
    assert result.returncode == 1
    assert "cannot write the tutorial's figures" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
