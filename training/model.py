"""EyeNet: a small CNN for 24x24 grayscale eye crops.

Three conv stages (24→12→6→3) of two 3x3 convolutions each and global average pooling give a 64-d embedding; a
linear head turns it into the open-eye logit: 72k parameters. Every stage of training uses this one shape, and it
is what ships (as ONNX, which folds each BatchNorm into its convolution when the session loads).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def conv_block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


DEPTH = 2  # convolutions per stage


class EyeNet(nn.Module):
    def __init__(self, width: int = 16, depth: int = DEPTH) -> None:
        super().__init__()
        self.width, self.depth = width, depth
        layers: list[nn.Module] = []
        channels = 1
        for stage in range(3):  # 24x24 → 12x12 → 6x6 → 3x3, doubling the channels
            for _ in range(depth):
                layers += conv_block(channels, width * 2**stage)
                channels = width * 2**stage
            layers.append(nn.MaxPool2d(2))
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 24, 24) in [0, 1] → (N, 64) features."""
        # Standardise each crop: exposure and contrast of the source photo say nothing about the eyelids.
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        return self.trunk((x - mean) / (std + 0.05))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 24, 24) in [0, 1] → (N,) open-eye logits."""
        return self.head(self.embed(x)).squeeze(1)


@torch.inference_mode()
def logits(net: EyeNet, images: np.ndarray) -> np.ndarray:
    """(N, 24, 24) crops in [0, 1] → (N,) open-eye logits, the network in eval mode, 1024 crops at a time."""
    net.eval()
    return torch.cat([net(chunk) for chunk in torch.from_numpy(images).unsqueeze(1).split(1024)]).numpy()
