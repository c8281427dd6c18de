"""Untrained nets for the evaluator and kernel tests, quantized from random float weights."""

from __future__ import annotations

import random

import chess
import numpy as np
import torch

from nnue.kernel import KernelNet
from nnue.model import NnueConfig, NnueModel, quantize


def random_net(feature_set: str, seed: int = 0, l1: int = 64) -> tuple[NnueModel, KernelNet]:
    """An untrained net with weights spread widely enough to exercise every clip."""
    torch.manual_seed(seed)
    model = NnueModel(NnueConfig(feature_set, l1, 32, 32))
    with torch.no_grad():
        model.feature_transformer.weight[:-1].normal_(0.0, 0.15)
        model.ft_bias.uniform_(-0.2, 0.8)
        for layer in (model.hidden1, model.hidden2):
            layer.weight.normal_(0.0, 0.5 / np.sqrt(layer.in_features) * 2)
            layer.bias.uniform_(-0.2, 0.6)
        model.output.weight.normal_(0.0, 0.8)
    model.clip_weights()
    return model, KernelNet(quantize(model))


def random_game(rng: random.Random, plies: int = 200) -> list[chess.Move]:
    """A random game that prefers castling and promotions when they are there."""
    board = chess.Board()
    moves = []
    while not board.is_game_over() and len(moves) < plies:
        legal = list(board.legal_moves)
        castles = [m for m in legal if board.is_castling(m)]
        promotions = [m for m in legal if m.promotion]
        move = rng.choice(castles or promotions or legal) if rng.random() < 0.5 else rng.choice(
            legal)
        board.push(move)
        moves.append(move)
    return moves


def random_boards(rng: random.Random, plies: int) -> list[chess.Board]:
    """Every position of a random game, as independent boards."""
    boards = []
    board = chess.Board()
    for move in random_game(rng, plies):
        board.push(move)
        boards.append(board.copy(stack=False))
    return boards
