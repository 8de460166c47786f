"""Telegram bot front end for the eye classifier: ``python -m bot`` (see ``bot.app`` for the flow)."""

import os

# The bot's two worker threads already use both cores: OpenBLAS helper threads (NumPy, in the photo path) would
# only spin against them (measured with the earlier NumPy engine: 23 → 15 ms of CPU per photo). ONNX Runtime runs
# each call on one thread too (EYE_THREADS). Set before NumPy loads; the environment can override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
