"""Write a trained EyeNet as the ONNX file ``classifier`` serves: one file, preprocessing inside, self-describing.

The graph takes ``image``, a float32 (N, 24, 24) batch of grayscale crops in [0, 1] (dynamic N), standardises each
crop itself (as ``EyeNet.embed`` does), and returns ``logit`` and ``p_open``. What a user must know besides rides in
the file's metadata (``classifier.load_model().meta``): input, threshold, label convention, architecture,
parameters, labels used, validation figures, training date and commit.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from classifier.model import FORMAT, FORMAT_KEY
from training.data import REPO
from training.model import EyeNet

OPSET = 18


class Served(nn.Module):
    """EyeNet as served: (N, 24, 24) in [0, 1] → (logit, probability), each (N,); a colour net takes (N, 3, 24, 24)."""

    def __init__(self, net: EyeNet, channels: int = 1) -> None:
        super().__init__()
        self.net, self.channels = net, channels

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logit = self.net(image.unsqueeze(1) if self.channels == 1 else image)
        return logit, torch.sigmoid(logit)


def commit(ignoring: Path | None = None) -> str:
    """The repository's commit, ``-dirty`` when the tree has changes (the weights then come from uncommitted code);
    changes to the file ``ignoring`` (relative to the repository) do not count: a sweep's own record."""
    status = ["git", "status", "--porcelain", "--untracked-files=no"]
    if ignoring:
        status += ["--", ".", f":(exclude){ignoring}"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(status, cwd=REPO, capture_output=True)
    except OSError:
        return "unknown"
    if head.returncode != 0 or dirty.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def describe(net: EyeNet, **extra: object) -> dict[str, str]:
    """The metadata every weights file carries; ``extra`` adds training facts (labels, figures, date, commit)."""
    meta = {
        FORMAT_KEY: FORMAT,
        "input": "image: float32 (N, 24, 24), grayscale in [0, 1] (pixel / 255); standardised per crop in the graph",
        "outputs": "logit, p_open: float32 (N,); p_open = sigmoid(logit)",
        "threshold": "0.5",
        "label_convention": "1 = open, 0 = closed (closed = shut along the whole lid; labels/CONVENTION.md)",
        "architecture": f"EyeNet: 3 stages x {net.depth} conv3x3+BN+ReLU, max-pool, width {net.width}, GAP, linear",
        "parameters": str(sum(p.numel() for p in net.parameters())),
    }
    meta |= {key: value if isinstance(value, str) else json.dumps(value) for key, value in extra.items()}
    return meta


def export_onnx(
    net: EyeNet, path: Path, metadata: dict[str, str], probability: str = "p_open", channels: int = 1
) -> Path:
    """Write ``net`` (eval mode, BatchNorm as trained) to ``path`` as ONNX with ``metadata``; its outputs are
    ``logit`` and ``probability`` (what the sigmoid of the logit is the probability of). Its input ``image`` is
    (N, 24, 24), or (N, channels, 24, 24) for a net of more than one channel."""
    net = net.eval()
    example = torch.rand(2, 24, 24) if channels == 1 else torch.rand(2, channels, 24, 24)
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on torchvision ops it does not need
        raw = Path(scratch) / "net.onnx"
        torch.onnx.export(
            Served(net, channels),
            (example,),
            raw,
            input_names=["image"],
            output_names=["logit", probability],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        model = onnx.load(raw)
    model.producer_name, model.producer_version = "eye-state training", ""
    for node in model.graph.node:  # the exporter's stack traces name this checkout's paths and line numbers:
        del node.metadata_props[:]  # dropped, so the same weights make the same file anywhere
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path
