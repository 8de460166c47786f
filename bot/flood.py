"""Per-chat flood guard: more than ``limit`` messages in ``window`` seconds gets one "slow down", then silence.

One polite warning beats twenty error replies, and it keeps one chat from eating the bot's Telegram budget
(about 30 messages a second for the whole bot). A chat is allowed again as soon as its window has room.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable


class Decision(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first message over the limit: answer it with the "slow down" text
    DROP = "drop"  # later ones in the same flood: no reply


class FloodGuard:
    def __init__(self, limit: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}  # chat id → times of its allowed messages in the window
        self._warned: set[int] = set()
        self._last_sweep = clock()

    def check(self, chat_id: int) -> Decision:
        """Record one incoming message from ``chat_id`` and say what to do with it."""
        now = self.clock()
        if now - self._last_sweep > self.window:
            self.forget_idle()
        times = self._seen.setdefault(chat_id, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._warned.discard(chat_id)
            return Decision.ALLOW
        if chat_id in self._warned:
            return Decision.DROP
        self._warned.add(chat_id)
        return Decision.WARN

    def forget_idle(self) -> None:
        """Drop the bookkeeping of chats with nothing in their window (keeps memory flat on a busy bot)."""
        self._last_sweep = self.clock()
        cutoff = self._last_sweep - self.window
        for chat_id in [c for c, times in self._seen.items() if not times or times[-1] <= cutoff]:
            del self._seen[chat_id]
            self._warned.discard(chat_id)

    def __len__(self) -> int:
        return len(self._seen)
