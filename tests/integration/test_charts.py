"""Charts through the real pipeline: listener → worker (events, render on the charts queue) → sendPhoto at the
Telegram emulator, and the text when Telegram refuses the photo."""

import io
import re
from pathlib import Path

from PIL import Image

from bench.memory import worker_processes
from teleglas.devstack.local_stack import wait_until
from tests.support.messages import write_scenario

T0 = 1725478245000
RULES = """
[default]
liquidation_min_usd = 100_000
whale_min_usd = 1_000_000
cooldown_s = 2

[storm]
window_s = 3
min_count = 4
min_usd = 1_000_000
quiet_gaps = 0  # the storm ends with its window: this test is about its photo, not when it ends
"""
PHOTO_CHAT, REFUSING_CHAT = "42", "43"


def liquidation(n: int) -> dict:
    """The n-th of the cascade: alternating sides, each its own size, 100 ms apart."""
    return {
        "baseAsset": "BTC",
        "exName": ("Binance", "OKX", "Bybit")[n % 3],
        "price": 56_700.0 - 10 * n,
        "side": 1 if n % 2 else 2,  # 1 long, 2 short
        "symbol": "BTCUSDT",
        "time": T0 + 100 * n,
        "volUsd": 300_000 + 1_000 * n,
    }


CASCADE = [liquidation(n) for n in range(12)]


def storm_accounting() -> dict:
    """What the rules make of the cascade: events 0 (short) and 1 (long) alert on their own, 2 (short) folds into
    the short cooldown, and 3 is the fourth event within 3 s worth over $1M: it opens the storm, which takes
    along the folded 2 and then events 3 to 11."""
    storm = CASCADE[2:]
    longs = [e["volUsd"] for e in storm if e["side"] == 1]
    shorts = [e["volUsd"] for e in storm if e["side"] == 2]
    return {"count": len(storm), "usd": sum(longs) + sum(shorts), "longs": longs, "shorts": shorts}


def usd(amount: float) -> str:
    return f"${amount:,.0f}"


def test_a_storm_arrives_as_a_photo_and_as_text_where_telegram_refuses_the_photo(make_stack, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    scenario = write_scenario(
        tmp_path / "cascade.jsonl",
        # Frames 150 ms apart: each alert leaves on its own (a chat spacing of 1 ms), none in a digest.
        [step for e in CASCADE for step in ({"pause": 0.15}, {"frame": {"channel": "liquidationOrders", "data": [e]}})],
    )
    env = {
        "ALERT_RULES_FILE": str(rules),
        "TELEGRAM_CHAT_INTERVAL": "0.001",
        "TELEGRAM_RATE_MARGIN": "0",
        "STARTUP_QUIET": "1",
    }
    stack = make_stack(scenario=scenario, chat_ids=(PHOTO_CHAT, REFUSING_CHAT), settings_env=env)
    stack.start_redis()
    stack.start_telegram_emulator(flood_limits=False)
    stack.start_coinglass_emulator()
    # Telegram refuses every photo for one chat, as it does a picture out of its dimensions.
    stack.add_telegram_fault(
        method="sendPhoto",
        chat_id=REFUSING_CHAT,
        status=400,
        description="Bad Request: PHOTO_INVALID_DIMENSIONS",
        count=20,
    )
    worker = stack.start_worker()
    stack.start_listener()
    stack.wait_for_replay()
    messages = stack.wait_for_idle(settle_s=1.0, timeout_s=90)

    expected = storm_accounting()
    storm_lines = [
        "⚡ LIQUIDATION STORM",
        "📊 Symbol: BTCUSDT",
        f"💥 {expected['count']} liquidations · {usd(expected['usd'])}",
        f"📈 Longs: {len(expected['longs'])} · {usd(sum(expected['longs']))}",
        f"📉 Shorts: {len(expected['shorts'])} · {usd(sum(expected['shorts']))}",
    ]
    storms = {str(m["chat_id"]): m for m in messages if m["text"].startswith("⚡ LIQUIDATION STORM")}
    assert set(storms) == {PHOTO_CHAT, REFUSING_CHAT}, [m["text"][:40] for m in messages]

    photo = storms[PHOTO_CHAT]
    assert photo["method"] == "sendPhoto" and photo["parse_mode"] == "HTML"
    assert photo["text"].splitlines()[:5] == storm_lines  # the whole alert text is the caption: it fits 1,024
    png = stack.telegram_photo(PHOTO_CHAT, photo["message_id"])
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every pixel
    assert (image.format, image.size) == ("PNG", (1200, 800))
    assert (photo["photo"]["width"], photo["photo"]["height"]) == (1200, 800)
    assert (stack.photos_dir / f"{PHOTO_CHAT}-{photo['message_id']}.png").read_bytes() == png

    # The chat whose photo Telegram refused gets the same alert as text, once, and the refusal is counted.
    text = storms[REFUSING_CHAT]
    assert text["method"] == "sendMessage" and text["text"] == photo["text"]
    assert sum(1 for m in messages if m["text"].startswith("⚡") and str(m["chat_id"]) == REFUSING_CHAT) == 1
    log = worker.log_text()
    assert re.search(
        r"\[SENDER\] alert=storm-\S+ chat=43 photo_refused 400: Bad Request: PHOTO_INVALID_DIMENSIONS; "
        r"sending the alert as text",
        log,
    )
    assert re.search(r"\[CHARTS\] storm chart of BTCUSDT rendered in \d+ ms", log)

    # The single alerts stay text; the folded short liquidation went out with the storm, so no summary follows.
    singles = [m for m in messages if m["text"].startswith("🔥 LIQUIDATION ALERT")]
    assert len(singles) == 4 and all(m["method"] == "sendMessage" for m in singles)
    assert not [m for m in messages if m["text"].startswith("🔁 LIQUIDATION SUMMARY")]


def _loaded_matplotlib(pid: int) -> bool:
    """Whether the process has matplotlib's C font module mapped (an import leaves it there)."""
    return "ft2font" in Path(f"/proc/{pid}/maps").read_text()


def test_a_worker_that_renders_loads_matplotlib_before_its_pool_forks_and_one_that_does_not_never(make_stack):
    stack = make_stack()
    stack.start_redis()
    stack.start_telegram_emulator()
    renders = stack.start_worker("renders", concurrency=2)
    events_only = stack.start_command(
        "events-only",
        ["-m", "celery", "-A", "teleglas", "worker", "-Q", "events,telegram", "-c", "1", "-l", "INFO"]
        + ["--hostname", "events@%h", "--without-mingle", "--without-gossip"],
    )
    wait_until(lambda: "ready." in events_only.log_text(), 60, 0.1, what="the events-only worker")
    rendering = worker_processes(renders.process.pid)
    assert len(rendering) == 3 and all(_loaded_matplotlib(pid) for pid in rendering)  # main and both pool processes
    assert not any(_loaded_matplotlib(pid) for pid in worker_processes(events_only.process.pid))
