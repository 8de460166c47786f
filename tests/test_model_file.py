"""The weights file: one self-describing ONNX file, refused with a clear error when missing, damaged or foreign."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier.model import FORMAT, FORMAT_KEY, WEIGHTS, EyeModel

REPO = Path(__file__).resolve().parent.parent
needs_weights = pytest.mark.skipif(not WEIGHTS.is_file(), reason=f"no weights at {WEIGHTS}")


@needs_weights
def test_the_shipped_file_describes_itself():
    meta = EyeModel().meta
    assert meta[FORMAT_KEY] == FORMAT
    for key in ("input", "threshold", "label_convention", "architecture", "parameters", "training_labels"):
        assert meta.get(key), f"metadata lacks {key}"
    for key in ("validation", "trained", "commit"):
        assert meta.get(key), f"metadata lacks {key}"
    assert "1 = open" in meta["label_convention"]
    assert 0.0 < float(meta["threshold"]) < 1.0
    assert int(meta["parameters"]) > 1000


def test_a_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.onnx"):
        EyeModel(tmp_path / "nothing.onnx")


@needs_weights
def test_a_truncated_file_is_a_clear_value_error(tmp_path):
    broken = tmp_path / "eyenet.onnx"
    broken.write_bytes(WEIGHTS.read_bytes()[:5000])
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        EyeModel(broken)


def test_a_foreign_onnx_model_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "foreign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    with pytest.raises(ValueError, match="not an eye-state classifier"):
        EyeModel(path)


@needs_weights
def test_thread_count_comes_from_the_environment_and_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("EYE_THREADS", "2")
    model = EyeModel()
    assert model.session.get_session_options().intra_op_num_threads == 2
    monkeypatch.setenv("EYE_THREADS", "lots")
    with pytest.raises(ValueError, match="EYE_THREADS"):
        EyeModel()


@needs_weights
def test_probabilities_take_only_batches_of_24x24_crops():
    model = EyeModel()
    assert model.probabilities(np.zeros((0, 24, 24), np.float32)).shape == (0,)
    p = model.probabilities(np.random.default_rng(0).random((5, 24, 24), dtype=np.float32))
    assert p.shape == (5,) and p.dtype == np.float32 and ((0 <= p) & (p <= 1)).all()
    with pytest.raises(ValueError, match="24, 24"):
        model.probabilities(np.zeros((2, 32, 32), np.float32))


def test_importing_the_classifier_pulls_in_neither_torch_nor_the_bot():
    heavy = "('torch', 'telegram', 'bot', 'training', 'onnx')"
    code = f"import sys, classifier; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
