"""The pictures of the README, as Telegram receives them: a local stack (Redis, both emulators, a worker, the
listener, the manual bot) plays a cascade, the manual bot is asked for /liq, /oi and /chart, a chat's daily
recap is run, and every photo the Telegram emulator accepted for them is written out.

    python -m teleglas.devstack.gallery --out docs/charts

Before the cascade, a day of small liquidations (below every threshold: no alert, but on the tape) is put
through the workers with times over the last 24 h, so the recap and the 24 h charts have a day to show.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from teleglas.defines import QUEUE_CHARTS, TASK_DAILY_RECAP
from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, DEMO_MANUAL_TOKEN, LocalStack, wait_until

CHAT = 42  # a private chat: the trader's own id
RULES = """
[default]
liquidation_min_usd = 250_000
whale_min_usd = 1_000_000
cooldown_s = 30

[storm]
window_s = 30
min_count = 6
min_usd = 3_000_000
"""
DAY_SYMBOLS = {"BTCUSDT": 60_000.0, "ETHUSDT": 2_400.0, "SOLUSDT": 140.0, "XRPUSDT": 0.52, "DOGEUSDT": 0.12}
ALERT_BOT = int(DEMO_ALERT_TOKEN.split(":")[0])
MANUAL_BOT = int(DEMO_MANUAL_TOKEN.split(":")[0])


def day_of_liquidations(now_ms: int, seed: int = 3) -> list[dict]:
    """Small liquidations over the last 24 h (each under $90k), busier in two sell-offs, on a price that moves."""
    rng = random.Random(seed)
    events = []
    for minute in range(24 * 60, 1, -2):
        at = now_ms - minute * 60_000
        hour = minute / 60
        rush = 6 if 14 < hour < 14.6 or 5 < hour < 5.4 else 1
        for _ in range(rush * rng.randint(1, 3)):
            symbol = rng.choice(list(DAY_SYMBOLS))
            drift = 1 + 0.02 * math.sin(hour / 3) - (0.015 if hour < 14 else 0)
            events.append(
                {
                    "kind": "liquidation",
                    "exchange": rng.choice(("Binance", "OKX", "Bybit")),
                    "symbol": symbol,
                    "base_asset": symbol.removesuffix("USDT"),
                    "price": DAY_SYMBOLS[symbol] * drift,
                    "side": 1 if rush > 1 or rng.random() < 0.5 else 2,
                    "usd": float(rng.randint(5_000, 90_000)),
                    "time_ms": at + rng.randint(0, 119_000),
                }
            )
    return events


def cascade_scenario(path: Path, seed: int = 5) -> None:
    """BTC longs liquidated in a cascade of 40 orders over ~30 s on a falling price, a few shorts among them,
    after a calmer minute; times are rewritten to the moment each frame is sent."""
    rng = random.Random(seed)
    lines = ['{"pause": 0.5}']
    price, t = 60_000.0, 1_000_000
    for n in range(100):
        t += 750
        in_cascade = 60 <= n < 100
        price *= 0.9993 if in_cascade else 1.0001
        usd = rng.randint(300_000, 1_800_000) if in_cascade else rng.randint(20_000, 120_000)
        side = 2 if in_cascade and rng.random() < 0.15 else 1
        item = (
            f'{{"baseAsset": "BTC", "exName": "{rng.choice(("Binance", "OKX", "Bybit"))}", "price": {price:.1f}, '
            f'"side": {side}, "symbol": "BTCUSDT", "time": {t}, "volUsd": {usd}}}'
        )
        lines.append(f'{{"frame": {{"channel": "liquidationOrders", "data": [{item}]}}}}')
        lines.append('{"pause": 0.75}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _photos(stack: LocalStack, bot: int, since: int) -> list[dict]:
    return [m for m in stack.telegram_messages()[since:] if m.get("method") == "sendPhoto" and m["bot_id"] == bot]


def produce(out: Path, workdir: Path) -> dict[str, Path]:
    """Runs everything and writes storm.png, liq.png, oi.png, chart.png and recap.png to `out`."""
    out.mkdir(parents=True, exist_ok=True)
    rules = workdir / "rules.toml"
    workdir.mkdir(parents=True, exist_ok=True)
    rules.write_text(RULES)
    cascade_scenario(workdir / "cascade.jsonl")
    env = {
        "ALERT_RULES_FILE": str(rules),
        "TELEGRAM_ALLOWED_USER_IDS": str(CHAT),
        "TELEGRAM_CHAT_INTERVAL": "0.001",
        "TELEGRAM_RATE_MARGIN": "0",
        "STARTUP_QUIET": "1",
    }
    written: dict[str, Path] = {}
    with LocalStack(
        workdir / "stack", chat_ids=(str(CHAT),), scenario=str(workdir / "cascade.jsonl"), settings_env=env
    ) as stack:
        stack.start_redis()
        stack.start_telegram_emulator(flood_limits=False)
        stack.start_coinglass_emulator(live_times=True)
        stack.start_worker()
        stack.enqueue_events(day_of_liquidations(int(time.time() * 1000)), batch=200)
        stack.wait_for_idle(settle_s=1.5)  # the day is on the tape (the workers write it once a second)
        stack.start_listener()
        stack.wait_for_replay(timeout_s=180)
        stack.wait_for_idle(settle_s=1.0, timeout_s=120)
        storms = [m for m in _photos(stack, ALERT_BOT, 0) if m["text"].startswith("⚡ LIQUIDATION STORM")]
        written["storm"] = _save(stack, storms[0], out / "storm.png")

        stack.start_manual_bot()
        for name, command in (("liq", "/liq BTC"), ("oi", "/oi BTC"), ("chart", "/chart BTC 24h")):
            seen = len(stack.telegram_messages())
            stack.send_user_message(command, CHAT, CHAT)
            wait_until(lambda seen=seen: _photos(stack, MANUAL_BOT, seen), 60, 0.1, what=f"the answer to {command}")
            written[name] = _save(stack, _photos(stack, MANUAL_BOT, seen)[0], out / f"{name}.png")

        now = datetime.now(UTC)
        seen = len(stack.telegram_messages())
        stack.send_user_message(f"/recap {now:%H:%M} UTC", CHAT, CHAT)
        wait_until(lambda: len(stack.telegram_messages()) > seen, 30, 0.1, what="the /recap answer")
        stack.celery_app().send_task(TASK_DAILY_RECAP, args=(CHAT,), queue=QUEUE_CHARTS)  # its time is now
        wait_until(lambda: _photos(stack, ALERT_BOT, seen), 60, 0.1, what="the daily recap")
        written["recap"] = _save(stack, _photos(stack, ALERT_BOT, seen)[0], out / "recap.png")
    return written


def _save(stack: LocalStack, message: dict, path: Path) -> Path:
    path.write_bytes(stack.telegram_photo(message["chat_id"], message["message_id"]))
    path.with_suffix(".txt").write_text(message["text"] + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/charts"))
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="teleglas-gallery-"))
    try:
        for name, path in produce(args.out, workdir).items():
            print(f"{name}: {path} ({path.stat().st_size // 1024} KB)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
