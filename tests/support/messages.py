"""Reading what the Telegram emulator and the health endpoints answered, and writing emulator scenarios."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

# One liquidation item of CoinGlass's liquidationOrders stream, as its doc page shows one (English field names).
LIQ_ITEM = {
    "baseAsset": "BTC",
    "exName": "Binance",
    "price": 56738.0,
    "side": 2,
    "symbol": "BTCUSDT",
    "time": 1725478245120,
    "volUsd": 1_250_000,
}


def alerted(messages: list[dict]) -> list[str]:
    """The title word and symbol of every alert in `messages`, whether sent alone or as a digest line."""
    found = []
    for message in messages:
        lines = message["text"].splitlines()
        if lines[0].startswith("🧾 DIGEST"):
            found += [line.split()[1] for line in lines[1:]]
        else:
            found += [line.split(": ", 1)[1] for line in lines if line.startswith("📊 Symbol: ")][:1]
    return found


def health(port: int) -> tuple[int, dict]:
    """GET 127.0.0.1:port/health: (HTTP status, the JSON report), for a 503 as well as a 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def write_scenario(path, steps) -> str:
    """Writes scenario steps (dicts) as JSON lines; returns the path as the emulator takes it."""
    path.write_text("".join(json.dumps(step, ensure_ascii=False) + "\n" for step in steps), encoding="utf-8")
    return str(path)


def max_in_window(times: list[float], window_s: float) -> int:
    """The most messages inside any half-open window [t, t + window_s)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best
