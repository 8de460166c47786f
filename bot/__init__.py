"""Telegram bot front end for the eye classifier: ``python -m bot`` (see ``bot.app`` for the flow)."""

import os

# The classifier's matrix products are small: OpenBLAS helper threads only spin against the bot's own worker
# threads (measured: 23 → 15 ms of CPU per photo with one). Set before NumPy loads; the environment can override.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
