"""Hostile input for the newer commands: damaged nets, odd paths, endless files, bad options.

The catalogue behind two checks of the same cases: ``tests/test_bad_input.py`` runs each
command line in-process (fast), ``benchmarks/bench_reliability.py`` runs each as a real process
with a memory cap and a time limit, and counts. A token ``@NAME`` in a command line stands for a
file that `materialize` builds in a scratch folder (``@new-*`` for a path that must stay
absent). A refusal must be one line on stderr naming ``fragments``, exit code 2, no traceback,
and leave the scratch folder as it was; an ``accepted`` case must succeed.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np
import torch

# A pickle stream written out as bytes (what pickle.dumps({"model": [1, 2, 3]}) gives):
# the loaders must refuse it; nothing here needs, or should import, pickle.
RAW_PICKLE = (b'\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x05model'
              b'\x94]\x94(K\x01K\x02K\x03es.')

ROOT = Path(__file__).resolve().parents[1]
PIECE_SQUARE_NET = ROOT / "nnue" / "nets" / "piece-square-256.nnue"
START = chess.STARTING_FEN


@dataclass(frozen=True)
class Case:
    """One hostile command line. ``disk_limit``: bytes a process may write to one file (a
    full disk); ``uses_stockfish``: needs the Stockfish binary."""

    name: str
    argv: tuple[str, ...]
    fragments: tuple[str, ...] = ()
    accepted: bool = False
    disk_limit: int | None = None
    uses_stockfish: bool = False


@dataclass(frozen=True)
class UciCase:
    """A UCI exchange after ``uci``/``isready``: the engine must stay alive and answer, give a
    legal ``bestmove`` among ``allowed`` (when given), and say ``info string`` with every
    fragment of ``complaint``."""

    name: str
    engine: tuple[str, ...]  # zero-uci or nnue-uci and its options
    lines: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    complaint: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- the files


def _network_checkpoint(path: Path, game: str, damage: str = "") -> None:
    """A small network checkpoint for ``game`` ("chess" or "hexapawn"), damaged as asked."""
    from minizero.checkpoint import save_checkpoint
    from minizero.games import make_game
    from minizero.nn.network import NetworkConfig, PolicyValueNet

    shape = make_game("chess" if game == "chess" else "hexapawn:3x3")
    config = NetworkConfig(shape.input_shape, shape.action_size, blocks=0, channels=4)
    torch.manual_seed(0)
    model = PolicyValueNet(config).state_dict()
    stored = dataclasses.asdict(config)
    if damage == "list":
        model = list(model.values())
    elif damage == "huge":  # a residual block of 200,000 channels: terabytes of weights
        stored.update(blocks=1, channels=200_000)
    elif damage == "fractional":
        stored["channels"] = 4.5
    elif damage == "nan":
        next(tensor for name, tensor in model.items() if name.endswith("weight"))[0] = np.nan
    save_checkpoint(path, config={"network": stored, "game": game}, model=model)


def _chess_shards(folder: Path, damage: str) -> None:
    """A folder of chess data: one shard whose row 1 has game result 7, or random bytes."""
    from minizero.chessgame import encoding
    from minizero.chessgame.data import write_shard
    from minizero.chessgame.game import ChessGame, ChessState

    folder.mkdir()
    if damage == "random":
        (folder / "az-w00-00000.npz").write_bytes(random.Random(1).randbytes(3000))
        return
    game, board = ChessGame(), chess.Board()
    rows = []
    for uci in ("e2e4", "e7e5", "g1f3", "b8c6"):
        move = chess.Move.from_uci(uci)
        state = ChessState.from_board(board)
        rows.append((game.encode(state), encoding.move_to_index(move, board.turn), board.fen()))
        board.push(move)
    bits, clock = encoding.pack_planes(np.stack([row[0] for row in rows]), game.history)
    write_shard(folder / "az-w00-00000.npz", {
        "bits": bits, "clock": clock, "move": np.array([row[1] for row in rows]),
        "score": np.zeros(4), "result": np.array([0, 7, 0, 0]), "game_id": np.arange(4),
        "fen": np.array([row[2] for row in rows])}, game.history)


def _nnue_checkpoint(path: Path) -> None:
    from nnue.model import NnueConfig, NnueModel
    from nnue.train import save_checkpoint

    save_checkpoint(path, NnueModel(NnueConfig("piece-square", 8, 4, 4)), None, {})


def _nnue_dataset(folder: Path) -> None:
    from nnue.data import Positions, encode_board, write_shard

    folder.mkdir()
    write_shard(folder / "sf-w00-00000.npz", Positions(
        np.stack([encode_board(chess.Board())] * 4), np.ones(4, np.uint8),
        np.zeros(4, np.int16), np.zeros(4, np.int8), np.arange(4, dtype=np.int64)))


def _hexapawn_samples(path: Path) -> None:
    from minizero.replay import Samples, save_samples

    save_samples(path, Samples(np.zeros((8, 2, 3, 3), np.float32),
                               np.full((8, 27), 1 / 27, np.float32),
                               np.array([1, -1] * 4, np.float32)))


def _folder_with(name: str, content: bytes) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        folder.mkdir()
        (folder / name).write_bytes(content)
    return make


def _text(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


MATED = "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3"  # fool's mate
STALEMATE = "7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"
TWO_KINGS = "4k3/8/8/8/8/8/8/3KK3 w - - 0 1"

FILES: dict[str, Callable[[Path], None]] = {
    "fifo": os.mkfifo,
    "photos": _folder_with("cat.jpg", b"\xff\xd8\xff\xe0 a photo"),
    "selfplay-run": _folder_with("config.json", b'{"run": "selfplay"}\n'),
    "nnue-dataset": _nnue_dataset,
    "a-file": _text(b"keep me\n"),
    "chess-net.pt": lambda path: _network_checkpoint(path, "chess"),
    "hexapawn-net.pt": lambda path: _network_checkpoint(path, "hexapawn"),
    **{f"{damage}-{game}.pt": (lambda path, damage=damage, game=game:
                               _network_checkpoint(path, game, damage))
       for damage in ("list", "huge", "fractional", "nan") for game in ("chess", "hexapawn")},
    "raw-pickle.pt": _text(RAW_PICKLE),
    "random-bytes.npz": _text(random.Random(0).randbytes(2000)),
    "nnue-checkpoint.pt": _nnue_checkpoint,
    "hexapawn-data.npz": _hexapawn_samples,
    "chess-data-result7": lambda folder: _chess_shards(folder, "result7"),
    "chess-data-random": lambda folder: _chess_shards(folder, "random"),
    "zero.nnue": lambda path: path.symlink_to("/dev/zero"),
    "mated.fen": _text(f"{START}\n{MATED}\n".encode()),
    "stalemate.fen": _text(f"{STALEMATE}\n".encode()),
    "two-kings.fen": _text(f"{TWO_KINGS}\n".encode()),
    "garbage.fen": _text(f"{START}\nthis is not a position\n".encode()),
    "empty.fen": _text(b""),
    "comments.fen": _text(b"# only a comment\n\n"),
    "latin1.fen": _text(f"{START}\n".encode() + "8/8/8/8/8/8/8/K1k5 w - - 0 1 ; caf\xe9\n"
                        .encode("latin-1")),
    "latin1-comment.fen": _text("# caf\xe9 openings\n".encode("latin-1") + START.encode()),
    "empty.epd": _text(b""),
    "comments.epd": _text(b"# nothing but a comment\n   \n"),
    "latin1.epd": _text("8/8/8/8/8/8/8/K1k5 w - - id \"caf\xe9\";\n".encode("latin-1")),
    "latin1-comment.epd": _text("# caf\xe9\n8/8/8/8/8/8/8/K1k5 w - - 0 1\n".encode("latin-1")),
    "long-line.epd": _text(b"8/8/8/8/8/8/8/K1k5 w - - " + b"x" * 100_000 + b"\n"),
}
LONG_NAME = "n" * 300 + ".pt"  # too long for the file system: ENAMETOOLONG


def materialize(argv: tuple[str, ...] | list[str], scratch: Path) -> list[str]:
    """``argv`` with each ``@NAME`` made into a path in ``scratch`` (the file built once)."""
    resolved = []
    for word in argv:
        if not word.startswith("@"):
            resolved.append(word)
            continue
        name = word[1:]
        path = scratch / (LONG_NAME if name == "long-name" else name)
        if name in FILES and not os.path.lexists(path):
            FILES[name](path)
        resolved.append(str(path))
    return resolved


# ----------------------------------------------------------------------------- the cases

SMALL_DATA = ("--positions", "4", "--depth", "1", "--workers", "1", "--quiet")
CHESSDATA = ("minizero", "chessdata", *SMALL_DATA)
PRECISION = ("nnue", "precision", str(PIECE_SQUARE_NET), "--out", "@new-run", "--study",
             "formats", "--formats", "float32", "--positions", "4", "--move-positions", "2",
             "--quiet")
COMPARE = ("minizero", "compare", "--budget", "2s", "--out", "@new-run", "--workers", "1",
           "--held-out-positions", "4", "--held-out-depth", "1", "--match-games", "0",
           "--quiet")
ENDGAME_COMPARE = ("minizero", "compare", "--budget", "2s", "--out", "@new-run", "--workers",
                   "1", "--quiet")
TRAIN_HEXAPAWN = ("minizero", "train", "--data", "@hexapawn-data.npz", "--out", "@new-run",
                  "--epochs", "1", "--quiet")
TRAIN_CHESS = ("minizero", "train", "--game", "chess", "--data", "@chess-data-result7",
               "--out", "@new-run", "--epochs", "1", "--channels", "4", "--blocks", "0",
               "--quiet")


def _net_consumers(net: str, fragments: tuple[str, ...]) -> list[Case]:
    """Every command that loads a policy-value net, given the damaged ``net`` (``-chess`` and
    ``-hexapawn`` variants where the game matters)."""
    chess_net, hexapawn_net = net.replace("GAME", "chess"), net.replace("GAME", "hexapawn")
    name = net.strip("@").replace("-GAME", "").replace(".pt", "")
    return [
        Case(f"zero-uci --weights {name}", ("zero-uci", "--weights", chess_net), fragments),
        Case(f"train --init {name}", (*TRAIN_HEXAPAWN, "--init", hexapawn_net), fragments),
        Case(f"export-net {name}", ("minizero", "export-net", chess_net, "--out", "@new.pt"),
             fragments),
        Case(f"arena --a {name}", ("minizero", "arena", "--a", hexapawn_net, "--b", "random",
                                   "--games", "2"), fragments),
        Case(f"chessdata --strong-side-net {name}",
             (*CHESSDATA, "--out", "@new-data", "--weak-side-random", "0.5",
              "--strong-side-net", chess_net), fragments, uses_stockfish=True),
    ]


CASES: list[Case] = [
    # 1. nothing that is not a regular file is replaced by a write
    Case("export-net --out FIFO", ("minizero", "export-net", "@chess-net.pt", "--out", "@fifo"),
         ("fifo", "not a regular file")),
    Case("hexapawn dataset --out FIFO", ("hexapawn", "dataset", "--out", "@fifo"),
         ("fifo", "not a regular file")),
    Case("hexapawn solve --out FIFO --force", ("hexapawn", "solve", "--out", "@fifo", "--force",
                                               "--quiet"), ("fifo", "not a regular file")),
    Case("nnue quantize --out FIFO", ("nnue", "quantize", "@nnue-checkpoint.pt", "--out",
                                      "@fifo"), ("fifo", "not a regular file")),
    Case("openings --out FIFO", ("minizero", "openings", "--out", "@fifo", "--count", "1",
                                 "--depth", "1", "--quiet"), ("fifo", "not a regular file"),
         uses_stockfish=True),
    Case("export-net --out a folder", ("minizero", "export-net", "@chess-net.pt", "--out",
                                       "@photos"), ("photos", "directory")),
    # 2. chessdata keeps out of folders that hold something else
    *[Case(f"chessdata --out {folder}", (*CHESSDATA, "--out", f"@{folder}"),
           (folder, "not empty"), uses_stockfish=True)
      for folder in ("photos", "selfplay-run", "nnue-dataset")],
    Case("chessdata --out a file", (*CHESSDATA, "--out", "@a-file"), ("a-file",),
         uses_stockfish=True),
    # 3, 15. openings that cannot start a random walk, or no openings at all
    *[Case(f"nnue precision --openings {name}", (*PRECISION, "--openings", f"@{name}"),
           (f"{name}{line}", why))
      for name, line, why in (("mated.fen", ":2", "over"), ("stalemate.fen", ":1", "over"),
                              ("two-kings.fen", ":1", "legal"), ("garbage.fen", ":2", "FEN"),
                              ("empty.fen", "", "no openings"),
                              ("comments.fen", "", "no openings"),
                              ("latin1.fen", ":2", "UTF-8"))],
    Case("nnue precision --openings comment in latin-1",
         (*PRECISION, "--openings", "@latin1-comment.fen"), accepted=True),
    Case("match --openings latin1", ("minizero", "match", "minizero", "minizero", "--nodes",
                                     "10", "--openings", "@latin1.fen"), ("latin1.fen:2",)),
    # 4. endless input
    Case("nnue eval --epd /dev/zero", ("nnue", "eval", "stockfish", "--epd", "/dev/zero"),
         ("/dev/zero",)),
    Case("nnue eval --epd a 100 kB line", ("nnue", "eval", "stockfish", "--epd",
                                           "@long-line.epd"), ("long-line.epd:1",)),
    Case("nnue data --import /dev/zero", ("nnue", "data", "--import", "/dev/zero", "--out",
                                          "@new-data"), ("/dev/zero",)),
    Case("match --openings /dev/zero", ("minizero", "match", "minizero", "minizero", "--nodes",
                                        "10", "--openings", "/dev/zero"), ("/dev/zero",)),
    Case("nnue bench zero.nnue", ("nnue", "bench", "@zero.nnue"), ("zero.nnue",)),
    Case("nnue check zero.nnue", ("nnue", "check", "@zero.nnue", "--data", "@nnue-dataset"),
         ("zero.nnue",)),
    Case("nnue precision zero.nnue", ("nnue", "precision", "@zero.nnue", "--out", "@new-run"),
         ("zero.nnue",)),
    Case("nnue eval FIFO", ("nnue", "eval", "@fifo", "--fen", START), ("fifo",)),
    # 5, 6, 9, 11 and the messages: damaged nets, everywhere a net is loaded
    *_net_consumers("@list-GAME.pt", ("list-", "weights")),
    *_net_consumers("@huge-GAME.pt", ("huge-", "channels")),
    *_net_consumers("@fractional-GAME.pt", ("fractional-", "channels")),
    *_net_consumers("@nan-GAME.pt", ("nan-", "not finite")),
    *_net_consumers("@raw-pickle.pt", ("raw-pickle.pt",)),
    *_net_consumers("@long-name", ("nnnnnnnnnn",)),
    # 7, 8. a full disk, and options that used to fail inside chessdata's workers
    Case("export-net on a full disk", ("minizero", "export-net", "@chess-net.pt", "--out",
                                       "@new.pt"), ("new.pt",), disk_limit=1000),
    Case("train on a full disk", TRAIN_HEXAPAWN, ("new-run",), disk_limit=1000),
    Case("hexapawn dataset on a full disk", ("hexapawn", "dataset", "--size", "4x4", "--out",
                                             "@new.npz"), ("new.npz",), disk_limit=1000),
    Case("chessdata on a full disk", (*CHESSDATA, "--out", "@new-data", "--shard-size", "2"),
         ("new-data",), disk_limit=1000, uses_stockfish=True),
    *[Case(f"chessdata {option} {value}", (*CHESSDATA, "--out", "@new-data", option, value),
           (option.strip("-"),))
      for option, value in (("--history", "1000"), ("--history", "0"), ("--seed", "-1"),
                            ("--shard-size", "0"), ("--positions", "-4"), ("--workers", "0"),
                            ("--depth", "0"))],
    Case("chessdata --seed 40000000000", (*CHESSDATA, "--out", "@new-data", "--seed",
                                          "40000000000"), accepted=True, uses_stockfish=True),
    # 12. impossible labels
    Case("train on results of 7", TRAIN_CHESS, ("az-w00-00000.npz", "row 1", "result")),
    Case("compare --held-out results of 7", (*COMPARE, "--held-out", "@chess-data-result7"),
         ("az-w00-00000.npz", "row 1", "result")),
    Case("train on a chess shard of random bytes",
         (*TRAIN_CHESS[:5], "@chess-data-random", *TRAIN_CHESS[6:]),
         ("az-w00-00000.npz", "not an npz")),
    Case("train on random bytes", ("minizero", "train", "--data", "@random-bytes.npz", "--out",
                                   "@new-run"), ("random-bytes.npz", "not an npz")),
    Case("nnue train on random bytes", ("nnue", "train", "--data", "@random-bytes.npz", "--out",
                                        "@new-run"), ("random-bytes.npz", "not an npz")),
    # 13. fractions
    *[Case(f"train {option} {value}", (*TRAIN_CHESS, option, value), (option,))
      for option, value in (("--holdout", "-0.1"), ("--holdout", "nan"), ("--holdout", "1.5"),
                            ("--holdout", "inf"), ("--eval-weight", "nan"),
                            ("--eval-weight", "-1"))],
    # 14. everything checked before a run directory is made
    *[Case(f"compare {option} {value}", (*COMPARE, option, value),
           (option.strip("-").replace("-", "_"),))
      for option, value in (("--seed", "-1"), ("--learning-rate", "nan"),
                            ("--learning-rate", "0"), ("--resign-threshold", "5"),
                            ("--no-resign-fraction", "2"), ("--blocks", "-1"),
                            ("--policy-head", "xyz"), ("--temperature-moves", "-1"),
                            ("--opening-plies", "-1"), ("--match-games", "3"),
                            ("--label-fraction", "1"), ("--channels", "0"))],
    Case("compare --budget of 401 digits", (*COMPARE[:2], "--budget", "9" * 401 + "s",
                                            *COMPARE[4:]), ("budget",)),
    Case("compare --budget 0s", (*COMPARE[:2], "--budget", "0s", *COMPARE[4:]), ("budget",)),
    Case("nnue precision --seed -1", (*PRECISION, "--seed", "-1"), ("--seed",)),
    Case("nnue precision --positions 0", (*PRECISION, "--positions", "0"), ("--positions",)),
    Case("hexapawn precision --seed -1", ("hexapawn", "precision", "--out", "@new-run",
                                          "--study", "ptq", "--train-steps", "1", "--seed",
                                          "-1", "--quiet"), ("--seed",)),
    # 15. empty input
    *[Case(f"nnue eval --epd {name}", ("nnue", "eval", "stockfish", "--epd", f"@{name}"),
           (name, why))
      for name, why in (("empty.epd", "no positions"), ("comments.epd", "no positions"),
                        ("latin1.epd", "UTF-8"))],
    Case("nnue eval --epd comment in latin-1", ("nnue", "eval", "stockfish", "--epd",
                                                "@latin1-comment.epd"), accepted=True,
         uses_stockfish=True),
    # 16. an option that needs others
    Case("chessdata --only-unwon-games alone", (*CHESSDATA, "--out", "@new-data",
                                                "--only-unwon-games"), ("only_unwon_games",)),
    # 17. chess endgames (refused before any table is built or run directory made)
    *[Case(f"compare --game {game}", (*ENDGAME_COMPARE[:2], "--game", game, *ENDGAME_COMPARE[2:]),
           fragments)
      for game, fragments in (("chess-endgame:KXvK", ("unknown piece letter",)),
                              ("chess-endgame:KQRvKR", ("5 men", "at most 4")),
                              ("chess-endgame:KvK", ("two bare kings",)),
                              ("chess-endgame", ("signature",)),
                              ("chess-endgame:KQvK,side=red", ("side",)),
                              ("chess-endgame:KQvK,starts=short", ("starts",)),
                              ("chess-endgame:KQvK,depth=3", ("unknown chess-endgame option",)))],
    *[Case(f"endgame compare --budget {budget}",
           (*ENDGAME_COMPARE[:2], "--game", "chess-endgame:KQvK", "--budget", budget,
            *ENDGAME_COMPARE[4:]), ("budget",))
      for budget in ("0s", "-5m", "nan", "nans", "infh")],
]

UCI_CASES: list[UciCase] = [
    # 10. go searchmoves
    *[UciCase(f"zero-uci go searchmoves {moves} {limit}", ("zero-uci",),
              ("position startpos moves e2e4", f"go searchmoves {moves} {limit}"),
              allowed=tuple(moves.split()))
      for moves, limit in (("d7d5", "nodes 32"), ("a7a6 h7h6", "nodes 48"),
                           ("g8f6", "depth 3"), ("b7b6", "movetime 300"))],
    UciCase("nnue-uci go searchmoves d7d5", ("nnue-uci",),
            ("position startpos moves e2e4", "go searchmoves d7d5 depth 3"), allowed=("d7d5",)),
    # 4, 5, 6, 9, 11: a damaged net set over UCI is refused, the old one plays on
    *[UciCase(f"zero-uci WeightsFile {name}", ("zero-uci",),
              (f"setoption name WeightsFile value {path}", "position startpos",
               "go nodes 16"), complaint=fragments)
      for name, path, fragments in (
          ("nan", "@nan-chess.pt", ("nan-chess.pt", "not finite")),
          ("list", "@list-chess.pt", ("list-chess.pt",)),
          ("huge", "@huge-chess.pt", ("huge-chess.pt", "channels")),
          ("fractional", "@fractional-chess.pt", ("fractional-chess.pt", "channels")),
          ("raw pickle", "@raw-pickle.pt", ("raw-pickle.pt",)),
          ("long name", "@long-name", ("nnnnnnnnnn",)),
          ("/dev/zero", "/dev/zero", ("/dev/zero",)),
          ("FIFO", "@fifo", ("fifo",)))],
    *[UciCase(f"nnue-uci EvalFile {name}", ("nnue-uci",),
              (f"setoption name EvalFile value {path}", "position startpos", "go depth 2"),
              complaint=fragments)
      for name, path, fragments in (
          ("/dev/zero", "/dev/zero", ("/dev/zero",)),
          ("zero.nnue", "@zero.nnue", ("zero.nnue",)),
          ("FIFO", "@fifo", ("fifo",)),
          ("long name", "@long-name", ("nnnnnnnnnn",)),
          ("raw pickle", "@raw-pickle.pt", ("raw-pickle.pt",)))],
]


# ----------------------------------------------------------------------------- the verdicts


def answered_well(case: Case, code: int | str, stderr: str) -> bool:
    """Exit code 2 and one error line on stderr naming every fragment, nothing else but
    argparse's usage lines (no warning, no traceback); or, for an ``accepted`` case, success.
    (Whether files were left alone is the caller's to check.)"""
    if case.accepted:
        return code == 0 and "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line]
    others = [line for line in lines if "error" not in line]
    usage_only = not others or (others[0].startswith("usage:")
                                and all(line[0].isspace() for line in others[1:]))
    return (code == 2 and len(errors) == 1 and usage_only
            and all(fragment.lower() in errors[0].lower() for fragment in case.fragments))


def played_well(case: UciCase, sent: list[str], output: list[str]) -> bool:
    """A legal last ``bestmove`` for the last position sent (among ``allowed``), and an
    ``info string`` with every fragment of ``complaint``."""
    board = chess.Board()
    for line in sent:
        words = line.split()
        if words[:2] == ["position", "startpos"]:
            board = chess.Board()
            for move in words[words.index("moves") + 1:] if "moves" in words else []:
                board.push_uci(move)
    answers = [line.split()[1] for line in output if line.startswith("bestmove")]
    if not answers or chess.Move.from_uci(answers[-1]) not in board.legal_moves:
        return False
    if case.allowed and answers[-1] not in case.allowed:
        return False
    return not case.complaint or any(
        all(fragment.lower() in line.lower() for fragment in case.complaint)
        for line in output if line.startswith("info string"))
