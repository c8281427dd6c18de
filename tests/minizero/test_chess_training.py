"""Stockfish-labelled chess data and the training path: shards resume, a tiny net overfits."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from pathlib import Path

import chess
import numpy as np
import pytest
import torch

from benchmarks.bench_zero_chess import SHIPPED_NET, training_records
from minizero.chessgame import encoding, training
from minizero.chessgame.data import ChessDataConfig, generate, read_shard
from minizero.chessgame.training import cp_to_value, grade, load_chess_data, value_to_cp
from minizero.nn.network import NetworkConfig, PolicyValueNet
from minizero.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def labelled_dir(tmp_path_factory: pytest.TempPathFactory, stockfish_path: str) -> Path:
    out = tmp_path_factory.mktemp("az-data")
    config = ChessDataConfig(positions=60, depth=3, workers=1, shard_size=30, seed=1,
                             max_plies=24)
    generate(config, stockfish_path, out, quiet=True)
    return out


def test_shards_hold_legal_labels_and_resume(labelled_dir: Path, stockfish_path: str) -> None:
    first = sorted(labelled_dir.glob("az-*.npz"))
    assert first
    before = {path: path.read_bytes() for path in first}
    total = sum(len(read_shard(path, 2)["move"]) for path in first)
    assert total >= 60
    config = ChessDataConfig(positions=total + 20, depth=3, workers=1, shard_size=30, seed=1,
                             max_plies=24)
    after = generate(config, stockfish_path, labelled_dir, quiet=True)
    assert after >= total + 20
    for path, data in before.items():  # finished shards are never rewritten
        assert path.read_bytes() == data
    arrays = read_shard(first[0], 2)
    planes = encoding.unpack_planes(arrays["bits"], arrays["clock"], 2)
    for row in range(len(arrays["move"])):
        board = chess.Board(str(arrays["fen"][row]))
        move = encoding.index_to_move(int(arrays["move"][row]), board)
        assert move in board.legal_moves
        np.testing.assert_array_equal(planes[row, :12], encoding.encode_board(board, 2)[:12])
    with pytest.raises(ValueError, match="other.npz"):
        (labelled_dir / "other.npz").write_bytes(b"junk")
        read_shard(labelled_dir / "other.npz", 2)
    with pytest.raises(ValueError, match="history=2, not the 3"):
        read_shard(first[0], 3)  # another history length


def test_adjudication_ends_games_and_zero_plays_them_out(stockfish_path: str) -> None:
    """Every score counts as decisive here (adjudicate_score 0): two plies end a game, while
    adjudicate_plies = 0 plays it on to the length cap."""
    from minizero.chessgame.data import play_labelled_game
    from minizero.chessgame.stockfish import UciEngine

    engine = UciEngine(stockfish_path)
    try:
        lengths = {}
        for plies in (2, 0):
            config = ChessDataConfig(depth=1, adjudicate_score=0, adjudicate_plies=plies,
                                     random_plies_min=2, random_plies_max=2, max_plies=30,
                                     random_move_probability=0.0)
            rows = play_labelled_game(engine, config, random.Random(3))
            lengths[plies] = len(rows)
            assert {row[4] for row in rows} <= {-1, 0, 1}
    finally:
        engine.close()
    assert lengths[2] <= 2
    assert lengths[0] > 10  # 28 plies unless the game ended on the board first


def test_the_weak_side_plays_random_moves_and_the_other_stockfishs(stockfish_path: str) -> None:
    """With weak_side_random = 1 every move of the weak side is a random one (some differ from
    Stockfish's label); the other side plays its label every time."""
    from minizero.chessgame.data import play_labelled_game
    from minizero.chessgame.stockfish import UciEngine

    engine = UciEngine(stockfish_path)
    try:
        config = ChessDataConfig(depth=1, random_plies_min=2, random_plies_max=2, max_plies=40,
                                 random_move_probability=0.0, weak_side_random=1.0,
                                 adjudicate_plies=0)
        rows = play_labelled_game(engine, config, random.Random(5), weak_side=chess.BLACK)
    finally:
        engine.close()
    followed = {chess.WHITE: [], chess.BLACK: []}
    for row, after in zip(rows, rows[1:]):
        board = chess.Board(row[3])
        label = encoding.index_to_move(row[1], board)
        played = next(move for move in board.legal_moves if _after(board, move) == after[3])
        followed[board.turn].append(played == label)
    assert followed[chess.WHITE] and all(followed[chess.WHITE])
    assert followed[chess.BLACK] and not all(followed[chess.BLACK])


@pytest.mark.parametrize("weak_side_random", [1.0, 0.0])
def test_a_strong_side_net_plays_its_policy_and_stockfish_labels(
        weak_side_random: float, stockfish_path: str, tmp_path: Path) -> None:
    """DAgger data: the network's favourite move is played on its side, the label stays
    Stockfish's (they differ somewhere for an untrained net); the weak side plays at random,
    or without ``weak_side_random`` Stockfish's moves: the net plays either way."""
    from minizero.agents import network_agent
    from minizero.checkpoint import save_checkpoint
    from minizero.chessgame.data import play_labelled_game
    from minizero.chessgame.game import ChessGame
    from minizero.chessgame.stockfish import UciEngine

    network_config = NetworkConfig((35, 8, 8), 4672, blocks=1, channels=8, value_head="wdl",
                                   policy_head="conv")
    torch.manual_seed(0)
    network = PolicyValueNet(network_config).eval()
    save_checkpoint(tmp_path / "net.pt", config={"network": dataclasses.asdict(network_config)},
                    model=network.state_dict())
    game = ChessGame()
    policy = network_agent(game, network)
    engine = UciEngine(stockfish_path)
    try:
        config = ChessDataConfig(depth=1, random_plies_min=2, random_plies_max=2, max_plies=40,
                                 random_move_probability=0.0, weak_side_random=weak_side_random,
                                 adjudicate_plies=0, strong_side_net=str(tmp_path / "net.pt"))
        rows = play_labelled_game(engine, config, random.Random(5), chess.BLACK, policy)
    finally:
        engine.close()
    start = game.initial_state()  # the game again, history and all: the two opening plies
    state = next(second for first in start.moves.values() for second in
                 (start.child(first).child(move) for move in start.child(first).moves.values())
                 if second.board.fen() == rows[0][3])
    labelled = []
    for row, after in zip(rows, rows[1:]):
        played = next(move for move in state.moves.values()
                      if state.child(move).board.fen() == after[3])
        if state.board.turn == chess.WHITE:
            assert played == game.move(state, policy(state))
            labelled.append(encoding.index_to_move(row[1], state.board) == played)
        state = state.child(played)
    assert labelled and not all(labelled)
    with pytest.raises(ValueError, match="nope.pt"):
        generate(ChessDataConfig(positions=10, workers=1, strong_side_net=str(tmp_path / "nope.pt"),
                                 weak_side_random=1.0), stockfish_path, tmp_path / "data",
                 quiet=True)


def test_only_unwon_games_keep_the_strong_sides_positions_of_games_it_did_not_win(
        stockfish_path: str, tmp_path: Path) -> None:
    """A policy that shuffles its first legal move draws at the length cap: every kept row is a
    position of its side, labelled by Stockfish; Stockfish itself as the policy mates the random
    mover, and nothing of that game is kept."""
    from minizero.chessgame.data import play_labelled_game
    from minizero.chessgame.stockfish import UciEngine

    config = ChessDataConfig(depth=1, random_plies_min=2, random_plies_max=2, max_plies=40,
                             random_move_probability=0.0, weak_side_random=1.0,
                             adjudicate_plies=0, strong_side_net="unused.pt", only_unwon_games=True)
    engine, helper = UciEngine(stockfish_path), UciEngine(stockfish_path)

    def stockfish_policy(state) -> int:
        moves = [move.uci() for move in state.to_board().move_stack]
        return encoding.move_to_index(chess.Move.from_uci(helper.search(moves, 6, None)[1]),
                                      state.board.turn)

    try:
        shuffled = play_labelled_game(engine, config, random.Random(5), chess.BLACK,
                                      lambda state: min(state.moves))
        won = play_labelled_game(engine, dataclasses.replace(config, max_plies=200),
                                 random.Random(5), chess.BLACK, stockfish_policy)
    finally:
        engine.close()
        helper.close()
    assert len(shuffled) > 10 and all(chess.Board(row[3]).turn == chess.WHITE for row in shuffled)
    assert all(row[4] <= 0 for row in shuffled)
    assert all(encoding.legal_mask(chess.Board(row[3]))[row[1]] for row in shuffled)
    assert won == []
    with pytest.raises(ValueError, match="only_unwon_games"):
        generate(dataclasses.replace(config, strong_side_net=None), stockfish_path,
                 tmp_path / "data", quiet=True)


def _after(board: chess.Board, move: chess.Move) -> str:
    board = board.copy(stack=False)
    board.push(move)
    return board.fen()


def test_value_cp_mapping_round_trips() -> None:
    for cp in (-900, -100, 0, 35, 400, 2000):
        assert abs(value_to_cp(float(cp_to_value(cp))) - cp) <= 1
    assert value_to_cp(1.0) == -value_to_cp(-1.0) > 2000  # finite at the ends


def test_tiny_net_overfits_a_handful_of_positions(labelled_dir: Path) -> None:
    torch.set_num_threads(1)
    samples, _ = load_chess_data([labelled_dir], 2, eval_weight=1.0)  # value = Stockfish's
    handful = samples.subset(np.arange(len(samples)) < 12)
    torch.manual_seed(0)
    network = PolicyValueNet(NetworkConfig((35, 8, 8), 4672, blocks=1, channels=16,
                                           value_head="wdl"))
    before = grade(network, handful)["top1"]
    trainer = Trainer(network, TrainConfig(batch_size=12, learning_rate=3e-3))
    trainer.train_steps(handful, 100)
    after = grade(network, handful)
    assert after["top1"] == 1.0 and before < 0.5
    assert after["value_mae"] < 0.15


def test_policy_loss_is_cross_entropy_over_the_legal_moves_only(labelled_dir: Path) -> None:
    samples, _ = load_chess_data([labelled_dir], 2)
    indices = np.arange(8)
    planes, policy, value, legal = samples.batch(indices)
    for row, fen in enumerate(samples.fen[indices]):
        assert np.array_equal(legal[row].numpy(), encoding.legal_mask(chess.Board(str(fen))))
        assert legal[row, samples.move[indices][row]]  # the label is among them
    torch.manual_seed(0)
    network = PolicyValueNet(NetworkConfig((35, 8, 8), 4672, blocks=1, channels=8)).eval()
    trainer = Trainer(network, TrainConfig())
    with torch.no_grad():
        logits, _ = network(planes)
        expected = [torch.logsumexp(logits[row][legal[row]], 0) - logits[row, label]
                    for row, label in enumerate(samples.move[indices])]
        _, masked = trainer.loss(planes, policy, value, legal)
        _, unmasked = trainer.loss(planes, policy, value)
    assert masked["policy_loss"] == pytest.approx(float(torch.stack(expected).mean()), rel=1e-5)
    assert masked["policy_loss"] < unmasked["policy_loss"]


def test_train_cli_on_chess_data_grades_and_resumes(labelled_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    base = [sys.executable, "-m", "minizero.cli", "train", "--game", "chess",
            "--data", str(labelled_dir), "--out", str(run), "--blocks", "1", "--channels", "8",
            "--value-head", "wdl", "--batch-size", "16", "--holdout", "0.3", "--quiet"]
    first = subprocess.run([*base, "--epochs", "1"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "held-out top-1" in first.stdout
    second = subprocess.run([*base, "--epochs", "2", "--resume"], capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "epoch 2:" in second.stdout and "epoch 1:" not in second.stdout


def test_train_cli_resumes_only_with_the_same_data_options(
        labelled_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--holdout, --eval-weight, --limit and --mirror are recorded in the run: a resume that
    would split, target or mirror the data otherwise is refused, naming what differs. A run
    from before they were recorded still resumes."""
    from minizero.cli import main

    run = tmp_path / "run"
    base = ["train", "--game", "chess", "--data", str(labelled_dir), "--out", str(run),
            "--blocks", "1", "--channels", "8", "--batch-size", "16", "--holdout", "0.3",
            "--quiet"]
    assert main([*base, "--epochs", "1", "--mirror"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["data_options"] == {"holdout": 0.3, "eval_weight": 0.5, "limit": None,
                                      "mirror": True}
    capsys.readouterr()
    for changed in (["--epochs", "2"], ["--epochs", "2", "--mirror", "--eval-weight", "1"]):
        assert main([*base, *changed, "--resume"]) == 2
        assert "differs in: data_options" in capsys.readouterr().err
    assert main([*base, "--epochs", "2", "--mirror", "--resume"]) == 0
    assert "epoch 2:" in capsys.readouterr().out
    del config["data_options"]  # as written before the options were recorded
    (run / "config.json").write_text(json.dumps(config))
    assert main([*base, "--epochs", "3", "--resume"]) == 0
    assert "epoch 3:" in capsys.readouterr().out


def test_train_cli_refuses_chess_data_for_another_game_or_history(
        labelled_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from minizero.cli import main

    for game, message in (("hexapawn:3x3", "chess data needs --game chess"),
                          ("chess:history=3", "history=2, not the 3")):
        assert main(["train", "--game", game, "--data", str(labelled_dir), "--out",
                     str(tmp_path / "run"), "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_cli_starts_from_the_init_network(labelled_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """--init's network shape wins over --blocks/--channels, and training starts from its
    weights (at a learning rate of 1e-9 they stay where they were; batch-norm statistics do
    move); the checkpoint's config records it."""
    from minizero.checkpoint import load_checkpoint, save_checkpoint
    from minizero.cli import main
    from minizero.nn.network import load_network

    game_shape = (encoding.plane_count(2), 8, 8)
    config = NetworkConfig(game_shape, encoding.ACTION_SIZE, blocks=1, channels=8,
                           value_head="wdl", policy_head="conv")
    torch.manual_seed(7)
    start = PolicyValueNet(config)
    save_checkpoint(tmp_path / "start.pt", config={"network": dataclasses.asdict(config)},
                    model=start.state_dict())
    assert main(["train", "--game", "chess", "--data", str(labelled_dir), "--out",
                 str(tmp_path / "run"), "--init", str(tmp_path / "start.pt"), "--blocks", "2",
                 "--channels", "4", "--epochs", "1", "--lr", "1e-9", "--batch-size", "16",
                 "--holdout", "0", "--quiet"]) == 0
    trained = load_network(str(tmp_path / "run" / "checkpoints" / "latest.pt"))
    assert trained.config == config
    trained_weights = dict(trained.named_parameters())
    for name, tensor in start.named_parameters():
        torch.testing.assert_close(trained_weights[name], tensor, atol=1e-5, rtol=0)
    run_config = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")[0]
    assert run_config["init"] == str(tmp_path / "start.pt")
    # --add-blocks: the same start, two blocks deeper; the old blocks keep their weights.
    assert main(["train", "--game", "chess", "--data", str(labelled_dir), "--out",
                 str(tmp_path / "deeper"), "--init", str(tmp_path / "start.pt"),
                 "--add-blocks", "2", "--epochs", "1", "--lr", "1e-9", "--batch-size", "16",
                 "--holdout", "0", "--quiet"]) == 0
    deeper = load_network(str(tmp_path / "deeper" / "checkpoints" / "latest.pt"))
    assert deeper.config.blocks == 3
    deeper_weights = dict(deeper.named_parameters())
    for name, tensor in start.named_parameters():
        torch.testing.assert_close(deeper_weights[name], tensor, atol=1e-5, rtol=0)
    assert float(deeper.tower[2].bn2.weight.detach().abs().max()) < 1e-5  # still ~ the identity
    assert main(["train", "--game", "chess", "--data", str(labelled_dir), "--add-blocks", "1",
                 "--out", str(tmp_path / "none"), "--quiet"]) == 2  # nothing to grow
    assert "give --init NET" in capsys.readouterr().err


def test_train_cli_prints_each_epoch_as_it_ends(labelled_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A long run shows its held-out figures epoch by epoch, not all after the last one."""
    from minizero import supervised
    from minizero.cli import main

    printed_by_then = []
    append = supervised.append_metrics

    def spy(path: Path, record: dict, **kwargs: object) -> None:
        printed_by_then.append(capsys.readouterr().out)
        append(path, record, **kwargs)

    monkeypatch.setattr(supervised, "append_metrics", spy)
    assert main(["train", "--game", "chess", "--data", str(labelled_dir), "--out",
                 str(tmp_path / "run"), "--blocks", "1", "--channels", "8", "--epochs", "2",
                 "--batch-size", "16", "--holdout", "0.3", "--quiet"]) == 0
    assert len(printed_by_then) == 2
    assert "epoch 1:" in printed_by_then[0] and "held-out top-1" in printed_by_then[0]
    assert "epoch 2:" in printed_by_then[1] and "epoch 1:" not in printed_by_then[1]


def test_training_curve_follows_init_back_to_the_shipped_net(tmp_path: Path) -> None:
    """The bench's curve of a run continued twice from the shipped net starts with the shipped
    net's own curve, epochs and minutes counted on across all three runs."""
    shipped = [{"epoch": 1, "seconds": 100.0, "top1": 0.3}, {"epoch": 2, "seconds": 200.0,
                                                               "top1": 0.35}]
    init = str(SHIPPED_NET)
    for name in ("a", "b", "c"):
        run = tmp_path / name
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"init": init}))
        (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "seconds": 10.0,
                                                       "top1": 0.4}) + "\n")
        init = str(run / "checkpoints" / "latest.pt")
    records = training_records(tmp_path / "c", shipped)
    assert [record["epoch"] for record in records] == [1, 2, 3, 4, 5]
    assert [record["seconds"] for record in records] == [100.0, 200.0, 210.0, 220.0, 230.0]
    assert [record.get("run") for record in records[2:]] == ["a", "b", "c"]


def test_mirror_flips_castling_free_positions_consistently_and_reproducibly() -> None:
    boards = _random_positions(8, seed=3, keep_castling_every=2)
    planes = np.stack([encoding.encode_board(board) for board in boards])
    moves = np.array([encoding.move_to_index(next(iter(b.legal_moves)), b.turn) for b in boards])
    samples = _packed(boards, moves, mirror=True)
    indices = np.tile(np.arange(len(boards)), 8)
    batch = samples.batch(indices)
    for tensor, again in zip(batch, samples.batch(indices)):  # the same batch, the same flips
        assert torch.equal(tensor, again)
    got_planes, policy, _, legal = (tensor.numpy() for tensor in batch)
    flipped = [False, False]
    for row, index in enumerate(indices):
        board = boards[index]
        mirrored = not np.array_equal(got_planes[row], planes[index])
        if board.castling_rights:
            assert not mirrored
            continue
        flipped[mirrored] = True
        twin = board.transform(chess.flip_horizontal) if mirrored else board
        np.testing.assert_array_equal(got_planes[row], encoding.encode_board(twin))
        np.testing.assert_array_equal(legal[row], encoding.legal_mask(twin))
        move = encoding.index_to_move(int(policy[row].argmax()), twin)
        assert move in twin.legal_moves
    assert flipped == [True, True]  # some of the free positions were mirrored, some not


def _random_positions(count: int, seed: int, keep_castling_every: int) -> list[chess.Board]:
    """Positions of random games (no history); all but every ``keep_castling_every``-th lose
    their castling rights, so that mirroring the files is a symmetry of those."""
    rng = random.Random(seed)
    boards = []
    for number in range(count):
        board = chess.Board()
        for _ in range(rng.randrange(4, 40)):
            board.push(rng.choice(list(board.legal_moves)))
            if board.is_game_over():
                board.pop()
                break
        board = board.copy(stack=False)
        if number % keep_castling_every:
            board.castling_rights = chess.BB_EMPTY
        boards.append(board)
    return boards


def _packed(boards: list[chess.Board], moves: np.ndarray, mirror: bool = False
            ) -> training.PackedSamples:
    """Samples of the given positions (no history) labelled with the given policy indices."""
    bits, clocks = encoding.pack_planes(np.stack([encoding.encode_board(b) for b in boards]), 2)
    zeros = np.zeros(len(boards))
    return training.PackedSamples(bits, clocks, moves, zeros.astype(np.float32),
                                  zeros.astype(np.int16), np.array([b.fen() for b in boards]),
                                  2, mirror=mirror)


def test_mirror_averaged_policy_picks_mirrored_moves_in_mirrored_positions() -> None:
    boards = _random_positions(24, seed=5, keep_castling_every=3)
    twins = [b.transform(chess.flip_horizontal) if not b.castling_rights else b for b in boards]
    torch.manual_seed(0)
    network = PolicyValueNet(NetworkConfig((35, 8, 8), 4672, blocks=1, channels=8)).eval()
    samples = _packed(boards, np.zeros(len(boards), dtype=np.int64))
    planes, masks = samples.planes(np.arange(len(boards))), samples.legal_masks(
        np.arange(len(boards)))
    policy, _ = network.predict(planes, masks)
    twin_policy, _ = network.predict(np.ascontiguousarray(planes[..., ::-1]),
                                     masks[:, encoding.FILE_MIRROR])
    free = np.array([not b.castling_rights for b in boards])
    averaged = np.where(free[:, None], policy + twin_policy[:, encoding.FILE_MIRROR], policy)
    best = averaged.argmax(axis=1)  # labels: the averaged policy's favourites
    graded = grade(network, _packed(boards, best), mirror_average=True)
    assert graded["top1_mirror_average"] == 1.0
    mirrored_best = np.where(free, encoding.FILE_MIRROR[best], best)
    graded_twins = grade(network, _packed(twins, mirrored_best), mirror_average=True)
    assert graded_twins["top1_mirror_average"] == 1.0  # the mirror's favourite is the mirror
    assert "top1_mirror_average" not in grade(network, _packed(boards, best))
