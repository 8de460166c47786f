"""EyeNet: a small CNN for 24x24 grayscale eye crops.

Three conv stages (24→12→6→3) and global average pooling give a 64-d embedding; a linear head turns it into
the open-eye logit. Two sizes are used: the teacher (two convolutions per stage, 72k parameters) is pretrained
self-supervised (``classifier.pretrain``) and fine-tuned on the few labels; the shipped student (one convolution
per stage, 23k parameters, 4x fewer multiply-adds) learns from the teacher (``classifier.distill``).
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


TEACHER_DEPTH = 2  # convolutions per stage
STUDENT_DEPTH = 1


class EyeNet(nn.Module):
    def __init__(self, width: int = 16, depth: int = TEACHER_DEPTH) -> None:
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


@torch.no_grad()
def fold_batchnorm(net: EyeNet) -> EyeNet:
    """A copy of ``net`` for inference with each BatchNorm folded into the convolution before it (same outputs)."""
    layers: list[nn.Module] = []
    modules = list(net.trunk)
    i = 0
    while i < len(modules):
        layer = modules[i]
        if isinstance(layer, nn.Conv2d) and i + 1 < len(modules) and isinstance(modules[i + 1], nn.BatchNorm2d):
            bn = modules[i + 1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, padding=layer.padding)
            conv.weight.copy_(layer.weight * scale.view(-1, 1, 1, 1))
            bias = layer.bias if layer.bias is not None else torch.zeros_like(bn.running_mean)
            conv.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
            layers.append(conv)
            i += 2
        else:
            layers.append(layer)
            i += 1
    folded = EyeNet(net.width, net.depth)
    folded.trunk = nn.Sequential(*layers)
    folded.head.load_state_dict(net.head.state_dict())
    return folded.eval()
