"""``AIORateLimiter`` that gives replies priority over the cosmetic "typing…" action.

Telegram lets a bot send about 30 messages a second overall, and AIORateLimiter counts every request naming a
chat against that, the "typing" action included. So with plain ``AIORateLimiter`` each photo costs two of those
30 slots (typing + reply), and a burst is answered at half the possible speed. Here this class applies the overall
limit itself and simply skips a "typing" action while less than half of the budget is free: under normal load
users always see it, under a burst the slots go to answers, and "typing" never takes a slot an answer waits for.
A group chat has a budget of its own besides (20 messages a minute), which counts "typing" too; the same rule
holds there. Group limits and ``RetryAfter`` handling stay AIORateLimiter's.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import constants
from telegram.ext import AIORateLimiter

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
SKIPPABLE = {"sendChatAction"}


class RepliesFirstRateLimiter(AIORateLimiter):
    def __init__(
        self,
        overall_max_rate: float = constants.FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(overall_max_rate=0, **kwargs)  # 0: the parent's overall limiter off, ours below instead
        self.overall = AsyncLimiter(overall_max_rate, overall_time_period)

    def room_for_typing(self, chat_id: int | str) -> bool:
        """At least half of every budget a "typing" action to ``chat_id`` would use is free."""
        budgets = [self.overall]
        group = group_of(chat_id)
        # AIORateLimiter's own group budget, through its private names (python-telegram-bot 22): should a later
        # version rename them, typing is judged on the overall budget alone rather than failing.
        get_group_limiter = getattr(self, "_get_group_limiter", None)
        if group is not None and getattr(self, "_group_max_rate", 0) and get_group_limiter is not None:
            budgets.append(get_group_limiter(group))
        return all(budget.has_capacity(budget.max_rate / 2) for budget in budgets)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        # Same scope as AIORateLimiter's overall limit: requests aimed at a chat, paid broadcasts excepted.
        if data.get("chat_id") is None or data.get("allow_paid_broadcast"):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        if endpoint in SKIPPABLE and not self.room_for_typing(data["chat_id"]):
            return True  # what Telegram answers to sendChatAction; nobody waits for it

        async def within_overall_limit(*call_args: Any, **call_kwargs: Any) -> JSONResult:
            async with self.overall:  # taken per attempt, like the parent does, so retries are counted too
                return await callback(*call_args, **call_kwargs)

        return await super().process_request(within_overall_limit, args, kwargs, endpoint, data, rate_limit_args)


def group_of(chat_id: int | str) -> int | str | None:
    """The group a ``chat_id`` names, as AIORateLimiter reckons it (a negative id, or an @channel name), else None."""
    try:
        chat_id = int(chat_id)
    except (TypeError, ValueError):
        pass
    return chat_id if isinstance(chat_id, str) or chat_id < 0 else None
