"""The manual bot's pictures and the daily recap, through the real processes: the bot (long polling the
Telegram emulator), the CoinGlass emulator's REST histories, a worker for the tape and the recap."""

import io
import time
from datetime import UTC, datetime

from PIL import Image

from teleglas.defines import QUEUE_CHARTS, TASK_DAILY_RECAP
from teleglas.devstack.local_stack import wait_until
from teleglas.state.keys import due_key
from tests.support.manual_bot import ALERT_BOT, MANUAL_BOT

TRADER = 11111  # a private chat: the trader's own id


def answer(stack, text: str, bot: int = MANUAL_BOT) -> dict:
    """Sends `text` as the trader; the next message the bot sends to the chat."""
    before = len(stack.telegram_messages())
    stack.send_user_message(text, TRADER, TRADER)
    found = []
    wait_until(
        lambda: found.extend(m for m in stack.telegram_messages()[before:] if m["bot_id"] == bot) or found,
        30,
        0.1,
        what=f"an answer to {text!r}",
    )
    return found[0]


def picture(stack, message: dict) -> Image.Image:
    assert message["method"] == "sendPhoto", message["text"]
    image = Image.open(io.BytesIO(stack.telegram_photo(message["chat_id"], message["message_id"])))
    image.load()
    return image


def test_liq_oi_chart_and_the_daily_recap_are_pictures(make_stack):
    stack = make_stack(chat_ids=("-1001000000001",), settings_env={"TELEGRAM_ALLOWED_USER_IDS": str(TRADER)})
    stack.start_redis()
    stack.start_telegram_emulator(flood_limits=False)
    stack.start_coinglass_emulator(min_subscribers=99)
    stack.start_worker()
    now_ms = int(time.time() * 1000)
    small = [  # below every threshold: on the tape, no alert
        {
            "kind": "liquidation",
            "exchange": "Binance",
            "symbol": "BTCUSDT",
            "base_asset": "BTC",
            "price": 60_000.0 - n,
            "side": 1 + n % 2,
            "usd": 40_000.0 + n,
            "time_ms": now_ms - n * 60_000,
        }
        for n in range(30)
    ]
    stack.enqueue_events(small)
    stack.wait_for_idle(settle_s=1.5)  # the workers write the tape once a second
    stack.start_manual_bot()

    liq = answer(stack, "/liq BTC")
    assert liq["text"].startswith("🔥 <b>BTC</b> liquidations, all exchanges") and picture(stack, liq).size == (
        1200,
        800,
    )
    oi = answer(stack, "/oi BTC")
    assert "open interest" in oi["text"].lower() and picture(stack, oi).size == (1200, 800)
    tape = answer(stack, "/chart BTC 1h")
    assert tape["text"].startswith("📈 <b>BTCUSDT</b> · last 1 h on the stream")
    assert "💥 Liquidated: $" in tape["text"] and picture(stack, tape).size == (1200, 800)
    assert answer(stack, "/chart BTC 3d")["text"].startswith("“3d” is not a window from 1m to 24h")

    assert answer(stack, "/recap")["text"].startswith("No daily recap in this chat.")
    assert answer(stack, "/recap 25:00")["text"].startswith("“25:00” is not a time of day")
    set_at = answer(stack, "/recap 08:00 Asia/Jakarta")["text"]
    assert set_at.startswith("📅 Daily recap in this chat at 08:00 Asia/Jakarta")
    due_in = stack.redis().zscore(due_key(), f"recap:{TRADER}") - time.time()
    assert 0 < due_in <= 86_400

    # Its time is now: the worker's run sends the day, as the alert bot, once.
    moment = datetime.now(UTC)
    answer(stack, f"/recap {moment:%H:%M} UTC")
    stack.celery_app().send_task(TASK_DAILY_RECAP, args=(TRADER,), queue=QUEUE_CHARTS)
    wait_until(
        lambda: [m for m in stack.telegram_messages() if m["bot_id"] == ALERT_BOT and m["chat_id"] == TRADER],
        60,
        0.1,
        what="the daily recap",
    )
    (recap,) = [m for m in stack.telegram_messages() if m["bot_id"] == ALERT_BOT and m["chat_id"] == TRADER]
    assert recap["text"].startswith(f"📅 <b>DAILY RECAP</b> · {moment:%Y-%m-%d %H:%M} (UTC)")
    assert "💥 Liquidated on the stream: $" in recap["text"] and picture(stack, recap).size == (1200, 1600)
    stack.celery_app().send_task(TASK_DAILY_RECAP, args=(TRADER,), queue=QUEUE_CHARTS)  # a second run: no second recap
    time.sleep(2)
    assert len([m for m in stack.telegram_messages() if m["bot_id"] == ALERT_BOT and m["chat_id"] == TRADER]) == 1
    assert answer(stack, "/recap off")["text"] == "Daily recap off in this chat."
