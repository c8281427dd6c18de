"""Policy-value networks: residual blocks with squeeze-and-excitation, as in AlphaZero and Leela."""

from minizero.nn.blocks import ResidualBlock, SqueezeExcitation
from minizero.nn.network import NetworkConfig, PolicyValueNet

__all__ = ["NetworkConfig", "PolicyValueNet", "ResidualBlock", "SqueezeExcitation"]
