"""Every console script answers --help with its usage and exit code 0; the UCI engines do too,
and with no arguments they still start a UCI session, as GUIs expect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
import build_site  # noqa: E402

SCRIPTS = sorted(build_site.console_scripts())
BIN = Path(sys.executable).parent


def command(script: str) -> list[str]:
    installed = BIN / script
    if installed.exists():
        return [str(installed)]
    module, _, function = build_site.console_scripts()[script].partition(":")
    return [sys.executable, "-c", f"import sys; from {module} import {function}; "
            f"sys.argv[0] = {script!r}; sys.exit({function}())"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_prints_usage_and_exits_0(script: str) -> None:
    result = subprocess.run([*command(script), "--help"], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script}")
    assert "uciok" not in result.stdout and "id name" not in result.stdout


@pytest.mark.parametrize("script", sorted(build_site.UCI_ENGINES))
def test_an_engine_without_arguments_speaks_uci(script: str) -> None:
    result = subprocess.run(command(script), input="uci\nquit\n", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "id name" in result.stdout and result.stdout.rstrip().endswith("uciok")
