"""Load benchmark of the Telegram bot through the fake Bot API server (127.0.0.1 only); prints figures.

    nice -n 10 python -m bench.bench_bot            # all three scenarios, ~1.5 minutes
    nice -n 10 python -m bench.bench_bot burst      # or: capacity, paced

Scenarios (the bot is a separate process, ``python -m bot`` exactly as deployed, unless stated otherwise):
  burst     500 photos from 50 chats pushed at once, production configuration (rate limiter on, ~30 messages/s):
            replies lost, photos/s, p50/p95 update→reply latency. Target: 0 lost, ≥ 27 photos/s (within 10% of 30).
  capacity  the same kind of burst with the rate limiter switched off: the bot's own throughput. Target ≥ 150/s.
  paced     20 photos/s for 30 s from 60 chats, production configuration. Target: p95 update→reply ≤ 200 ms.
Latency runs from the moment the fake server offers an update to the moment it receives the reply. Each chat
sends at most 10 photos, below the bot's flood guard (20 a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bot_helpers import VERDICT, bot_env, eye_image
from tests.fake_telegram import FakeTelegram, Sent

REPO = Path(__file__).resolve().parent.parent

TELEGRAM_CAP = 30.0  # messages per second for a whole bot; what AIORateLimiter enforces


@dataclass
class Result:
    name: str
    pushed: int
    answered: int
    verdicts: int
    seconds: float  # first update offered → last reply received
    latencies: list[float]
    typing: int  # "typing" actions the bot sent (skipped under load to save the budget for answers)
    bot_cpu: float = 0.0  # CPU seconds the bot process used during the run (user + system, all threads)
    loop_cpu: float = 0.0  # … of which its main thread, the event loop: one core at most, so it bounds throughput
    server_cpu: float = 0.0  # CPU seconds of this process (fake server + load generator) during the run

    @property
    def lost(self) -> int:
        return self.pushed - self.answered

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    def line(self) -> str:
        return (
            f"{self.name:<9} photos {self.pushed:4d}  lost {self.lost:3d}  non-verdict replies "
            f"{self.answered - self.verdicts:3d}  {self.rate:6.1f} photos/s  latency p50 {self.quantile(0.5):7.0f} ms"
            f"  p95 {self.quantile(0.95):7.0f} ms  max {self.quantile(1.0):7.0f} ms  typing shown {self.typing}\n"
            f"{'':10}CPU per photo: bot {1000 * self.bot_cpu / self.pushed:.1f} ms (event loop "
            f"{1000 * self.loop_cpu / self.pushed:.1f} ms: {self.pushed / self.loop_cpu:.0f} photos/s per core), "
            f"fake server {1000 * self.server_cpu / self.pushed:.1f} ms"
        )


class BotProcess:
    """``python -m bot`` (or the bot without rate limiter) polling ``fake``, stopped with SIGTERM."""

    def __init__(self, fake: FakeTelegram, rate_limit: bool, workdir: Path) -> None:
        self.fake, self.rate_limit, self.workdir = fake, rate_limit, workdir
        self.log = workdir / ("bot.log" if rate_limit else "bot-unlimited.log")

    async def __aenter__(self) -> BotProcess:
        command = ["-m", "bot"] if self.rate_limit else [str(Path(__file__).resolve()), "--serve-unlimited"]
        env = bot_env(self.fake, LOG_LEVEL="WARNING")
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, *command, env=env, cwd=self.workdir, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 120
        while not self.fake.called("getUpdates"):
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise SystemExit(f"the bot did not start; its log:\n{self.log.read_text()}")
            await asyncio.sleep(0.05)
        return self

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU seconds so far of the bot process and of its main thread (from Linux's /proc)."""

        def read(stat: str) -> float:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        pid = self.process.pid
        return read(f"/proc/{pid}/stat"), read(f"/proc/{pid}/task/{pid}/stat")

    def measure(self, result: Result, before: tuple[float, float, float]) -> Result:
        process, loop = self.cpu_seconds()
        result.bot_cpu, result.loop_cpu = process - before[0], loop - before[1]
        result.server_cpu = time.process_time() - before[2]
        return result

    def snapshot(self) -> tuple[float, float, float]:
        return (*self.cpu_seconds(), time.process_time())

    async def __aexit__(self, *exc_info: object) -> None:
        self.process.terminate()
        code = await asyncio.wait_for(self.process.wait(), 60)
        if code != 0:
            print(f"  (the bot exited with {code}; log in {self.log})")


async def collect(fake: FakeTelegram, name: str, messages: list[dict], start: float, timeout: float) -> Result:
    """Wait for a reply to every message (or ``timeout``) and measure."""
    deadline = time.monotonic() + timeout
    while len(fake.sent) < len(messages) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)  # late or duplicate replies would show up here
    wanted = {(m["chat"]["id"], m["message_id"]) for m in messages}
    first: dict[tuple[int, int], Sent] = {}
    for sent in fake.sent:
        key = (sent.chat_id, sent.reply_to)
        if key in wanted and key not in first:
            first[key] = sent
    latencies = [sent.at - fake.pushed_at[key] for key, sent in first.items()]
    verdicts = sum(1 for sent in first.values() if VERDICT.match(sent.text))
    last = max((sent.at for sent in first.values()), default=start)
    typing = len(fake.called("sendChatAction"))
    return Result(name, len(messages), len(first), verdicts, last - start, latencies, typing)


async def burst(name: str, rate_limit: bool, chats: int, per_chat: int, workdir: Path, images: list[bytes]) -> Result:
    async with FakeTelegram() as fake, BotProcess(fake, rate_limit, workdir) as bot:
        before = bot.snapshot()
        start = time.perf_counter()
        messages = [
            fake.photo(1000 + chat, images[(chat * per_chat + i) % len(images)])
            for i in range(per_chat)
            for chat in range(chats)
        ]
        result = await collect(fake, name, messages, start, timeout=120)
        return bot.measure(result, before)


async def paced(rate: float, seconds: float, chats: int, workdir: Path, images: list[bytes]) -> Result:
    async with FakeTelegram() as fake, BotProcess(fake, True, workdir) as bot:
        before = bot.snapshot()
        total = int(rate * seconds)
        start = time.perf_counter()
        messages = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            messages.append(fake.photo(2000 + i % chats, images[i % len(images)]))
        result = await collect(fake, "paced", messages, start, timeout=60)
        return bot.measure(result, before)


def serve_unlimited() -> None:
    """Child-process mode: the production bot (same warm-up and run) but without the rate limiter."""
    from bot.app import build_application, run
    from bot.classify import warm_up
    from bot.config import load_config
    from bot.logs import configure_logging

    config = load_config()
    configure_logging(config.log_level, secrets=[config.token])
    with tempfile.TemporaryDirectory() as scratch:
        warm_up(Path(scratch))
    run(build_application(config, rate_limit=False), config)


async def main(scenarios: list[str]) -> None:
    images = [eye_image(i) for i in range(500)]
    print(f"bot benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, fake server on 127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as scratch:
        workdir = Path(scratch)
        if "burst" in scenarios:
            result = await burst("burst", True, chats=50, per_chat=10, workdir=workdir, images=images)
            print(result.line())
            print(f"          target: 0 lost, ≥ {0.9 * TELEGRAM_CAP:.0f} photos/s (cap {TELEGRAM_CAP:.0f}/s)")
        if "capacity" in scenarios:
            result = await burst("capacity", False, chats=100, per_chat=10, workdir=workdir, images=images)
            print(result.line())
            print("          target: ≥ 150 photos/s with the rate limiter off")
        if "paced" in scenarios:
            result = await paced(rate=20, seconds=30, chats=60, workdir=workdir, images=images)
            print(result.line())
            print("          target: p95 ≤ 200 ms at 20 photos/s")
            print(f"          (mean {statistics.fmean(result.latencies) * 1000:.0f} ms)" if result.latencies else "")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve-unlimited"]:
        serve_unlimited()
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help="burst, capacity and/or paced (default: all three)")
    chosen = parser.parse_args().scenarios or ["burst", "capacity", "paced"]
    if unknown := set(chosen) - {"burst", "capacity", "paced"}:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    os.nice(10)  # share the machine politely; the bot process inherits it
    asyncio.run(main(chosen))
