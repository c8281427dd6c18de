"""Every shell command the README and the docs pages show exists and its arguments parse.

The commands are the lines of the ```sh code blocks of README.md, CHANGELOG.md and docs/**/*.md
(the README's other blocks must be ```text, so none is skipped by accident). Each command's
program must be one of the package's console scripts (its arguments parsed by the same argparse
parser the script uses, nothing run), a make target of the Makefile, a module or file that
`python` can run, or a known outside program (git, pip, Stockfish, ...); and no argument may
point at a path of one machine. ``--help``-level only: nothing is executed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
import build_site  # noqa: E402

PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# programs from outside the package that a recipe may call, and what their first argument may be
OUTSIDE = {"git": {"clone", "worktree"}, "pip": {"install"}, "apt-get": {"install", "update"},
           "cd": None, "export": None, "printf": None, "echo": None, "stockfish": None,
           "/usr/games/stockfish": None, "sunfish-uci": None, "ray": {"start", "up"}}
ENGINES = {"minizero", "sunfish-uci", "stockfish", "/usr/games/stockfish"}
MACHINE_PATHS = ("/work/", "/tmp/", "/home/", "/root/", "../shared", "/opt/")


def shell_blocks(page: Path) -> list[str]:
    return [body for language, body in FENCE.findall(page.read_text()) if language == "sh"]


def commands(block: str) -> list[list[str]]:
    """The simple commands of a block: continuation lines joined, comments dropped, pipelines
    and lists split, leading VAR=value assignments removed."""
    found = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in [*words, ";"]:
            if word in ("|", "&&", "||", ";"):
                while current and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", current[0]):
                    current.pop(0)
                if current:
                    found.append(current)
                current = []
            else:
                current.append(word)
    return found


ALL = [(page, command) for page in PAGES for block in shell_blocks(page)
       for command in commands(block)]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, re.MULTILINE))


def parse_script(script: str, arguments: list[str]) -> str | None:
    """None if ``script`` accepts ``arguments``, else what its parser said."""
    parser = build_site.script_parser(script)
    error = io.StringIO()
    try:
        with contextlib.redirect_stderr(error), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(arguments)
    except SystemExit as stop:
        if stop.code not in (0, None):
            return error.getvalue().strip().splitlines()[-1]
    return None


def check(command: list[str]) -> str | None:
    """None if the command is sound, else the reason."""
    program, arguments = command[0], command[1:]
    for word in command:
        if word.startswith(MACHINE_PATHS) or "../shared" in word:
            return f"{word!r} is a path of one machine"
    if program == "sudo":
        return check(arguments)
    if program.startswith(".venv/bin/"):
        program = program.removeprefix(".venv/bin/")
    scripts = build_site.console_scripts()
    if program in scripts:
        problem = parse_script(program, arguments)
        if problem is None and program == "minizero" and arguments[:1] == ["match"]:
            engines = [word for word in arguments[1:] if not word.startswith("-")][:2]
            for engine in engines:
                name = shlex.split(engine)[0].removeprefix(".venv/bin/")
                if name not in scripts and name not in ENGINES:
                    return f"engine {engine!r} is neither a console script nor a known engine"
        return problem
    if program == "make":
        targets = [word for word in arguments if "=" not in word]
        unknown = set(targets) - make_targets()
        return f"no make target {sorted(unknown)}" if unknown else None
    if program in ("python", "python3"):
        if arguments[:2] == ["-m", "venv"]:
            return None
        if arguments[:1] == ["-m"]:
            found = importlib.util.find_spec(arguments[1]) is not None
            return None if found else f"no module {arguments[1]}"
        if arguments[:1] == ["-c"]:
            compile(arguments[1], "<-c>", "exec")
            return None
        return None if (ROOT / arguments[0]).is_file() else f"no file {arguments[0]}"
    if program in (".", "source"):
        return None if arguments and arguments[0].startswith(".venv/") else "sources what?"
    if program in OUTSIDE:
        allowed = OUTSIDE[program]
        if allowed is not None and arguments[:1] and arguments[0] not in allowed:
            return f"{program} {arguments[0]} is not a recipe this test knows"
        return None
    return f"unknown program {program!r}"


def test_the_readme_shows_commands_and_labels_every_block() -> None:
    text = (ROOT / "README.md").read_text()
    languages = [language for language, _ in FENCE.findall(text)]
    assert set(languages) <= {"sh", "text"}, f"unlabelled code block in README: {languages}"
    assert sum(1 for page, _ in ALL if page.name == "README.md") >= 20


def test_the_extraction_splits_lines_pipes_and_assignments() -> None:
    block = ("A=1 B=2 nnue train --data d \\\n    --epochs 2   # a comment\n"
             "X=\"a b\"\nprintf 'uci\\n' | zero-uci && make docs\n")
    assert commands(block) == [["nnue", "train", "--data", "d", "--epochs", "2"],
                               ["printf", "uci\\n"], ["zero-uci"], ["make", "docs"]]
    assert check(["hexapawn", "solve", "--size", "9x"]) is not None
    assert check(["nnue", "quantize"]) is not None  # a missing argument
    assert check(["make", "no-such-target"]) is not None
    assert check(["nnue", "precision", "n.nnue", "--openings", "../shared/data/o.fen"])
    assert check(["minizero", "match", "nosuch-engine", "minizero-uci"]) is not None


@pytest.mark.parametrize("page, command", ALL,
                         ids=[f"{page.name}:{' '.join(command)[:60]}" for page, command in ALL])
def test_a_shown_command_exists_and_parses(page: Path, command: list[str]) -> None:
    problem = check(command)
    assert problem is None, f"{page.relative_to(ROOT)}: `{shlex.join(command)}`: {problem}"
