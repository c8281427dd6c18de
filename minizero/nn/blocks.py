"""The two building blocks of the tower: squeeze-and-excitation and the residual block.

A residual block is two 3x3 convolutions with batch norm whose output is added back to its input
(He et al., "Deep residual learning", 2016), so a deep tower starts out close to the identity and
trains easily. Squeeze-and-excitation (Hu et al., 2018) lets the block look at the whole board
at once: it pools each channel to one number, passes the pooled vector through a small two-layer
network, and uses the result to rescale the channels. Leela Chess Zero's form, used here, also
adds a per-channel bias: ``sigmoid(gamma) * x + beta``, with ``gamma`` and ``beta`` both computed
from the pooled board, so a block can say "this position is sharp, shift every square's features".
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812  (F.relu: the int8 path fuses it)


class SqueezeExcitation(nn.Module):
    """Per-channel scale and bias from the globally pooled board: sigmoid(gamma) * x + beta."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.squeeze = nn.Linear(channels, hidden)
        self.excite = nn.Linear(hidden, 2 * channels)  # gamma and beta for every channel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3))  # (B, C)
        gamma, beta = self.excite(torch.relu(self.squeeze(pooled))).chunk(2, dim=1)  # (B, C) x2
        return torch.sigmoid(gamma)[:, :, None, None] * x + beta[:, :, None, None]


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN, optional squeeze-and-excitation, plus the skip connection, ReLU."""

    def __init__(self, channels: int, se: bool = True, se_reduction: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.se = SqueezeExcitation(channels, se_reduction) if se else None

    def start_as_identity(self) -> None:
        """Zero the residual branch (its last batch norm's scale and shift, and the SE shift),
        so the block passes its input through unchanged: ``relu(0 + x) = x``, as every block's
        input has been through a ReLU. The zeroed scale still gets a gradient, so the branch
        grows from nothing in training ("zero-init residual", Goyal et al. 2017)."""
        with torch.no_grad():
            self.bn2.weight.zero_()
            self.bn2.bias.zero_()
            if self.se is not None:  # the shift half of the excite layer: beta = 0 for any input
                channels = self.bn2.num_features
                self.se.excite.weight[channels:].zero_()
                self.se.excite.bias[channels:].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        return F.relu(out + x)
