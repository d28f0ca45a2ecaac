"""One CoinGlass stream through every real process: listener → Redis → Celery worker → Telegram emulator."""

import json
import re
import signal
import subprocess
import sys

from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, DEMO_WS_KEY
from tests.support.messages import write_scenario

AT_19_30_45 = 1725478245120
AT_19_31_12 = 1725478272480
TRADES = "futures_trades@Binance_BTCUSDT@10000"
CHATS = ("42", "43")


def liq(symbol, usd, side=2, price=56738.0, time_ms=AT_19_30_45, exchange="Binance"):
    return {
        "baseAsset": symbol.removesuffix("USDT"),
        "exName": exchange,
        "price": price,
        "side": side,
        "symbol": symbol,
        "time": time_ms,
        "volUsd": usd,
    }


def trade(usd, side=2, time_ms=AT_19_31_12):
    return {
        "baseAsset": "BTC",
        "exName": "Binance",
        "price": 56750.0,
        "side": side,
        "symbol": "BTCUSDT",
        "time": time_ms,
        "volUsd": usd,
    }


SCENARIO = [
    {"frame": {"channel": "liquidationOrders", "data": [liq("BTCUSDT", 1_250_000)]}},
    {"pause": 0.2},
    {"frame": {"channel": "liquidationOrders", "data": [liq("ETHUSDT", 50_000, side=1, price=2400.0)]}},
    {"frame": {"channel": TRADES, "data": [trade(20_000, side=1)]}},
    {"raw": "}{ this is not JSON"},
    {
        "frame": {
            "channel": "liquidationOrders",
            "data": [{k: v for k, v in liq("SOLUSDT", 900_000).items() if k != "price"}],
        }
    },
    {"raw": json.dumps({"channel": "liquidationOrders"})},
    {"pause": 1.3},  # more than Telegram's 1 s per chat apart: each alert goes out on its own, not in a digest
    {"frame": {"channel": TRADES, "data": [trade(2_500_000)]}},
    {"pause": 1.3},
    {
        "frame": {
            "channel": "liquidationOrders",
            "data": [liq("<b>X</b>USDT", 300_000, side=1, price=0.4321, exchange="OKX")],
        }
    },
    {"pause": 0.2},
    {"frame": {"channel": "liquidationOrders", "data": [liq("BTCUSDT", 1_250_000)]}},
]

EXPECTED = [
    "🔥 LIQUIDATION ALERT\n📍 Exchange: Binance\n📊 Symbol: BTCUSDT\n💰 Price: $56,738.00\n📉 Side: SHORT\n💵 Size: "
    "$1,250,000\n⏰ Time: 19:30:45",
    "🐋 WHALE TRADE ALERT\n📍 Exchange: Binance\n📊 Symbol: BTCUSDT\n💰 Price: $56,750.00\n📈 Side: BUY\n💵 Size: "
    "$2,500,000\n⏰ Time: 19:31:12\n"
    "🎯 Confidence: 37/100 (size 16 · flow 0 · liquidations "
    "21)",  # 2.5× its threshold; the $1.25M short liquidation agrees
    "🔥 LIQUIDATION ALERT\n📍 Exchange: OKX\n📊 Symbol: &lt;b&gt;X&lt;/b&gt;USDT\n💰 Price: $0.4321\n📈 Side: LONG\n💵 "
    "Size: $300,000\n⏰ Time: 19:30:45",
]


def test_scenario_yields_exactly_the_expected_messages(make_stack, tmp_path):
    stack = make_stack(scenario=write_scenario(tmp_path / "scenario.jsonl", SCENARIO), chat_ids=CHATS)
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    # A 429 and a 500 on the first two sends: the retry path runs (and logs) before anything is accepted.
    stack.add_telegram_fault(status=429, description="Too Many Requests: retry after 1", retry_after=1)
    stack.add_telegram_fault(status=500, description="Internal Server Error")
    worker = stack.start_worker(loglevel="DEBUG")
    listener = stack.start_listener()
    stack.wait_for_replay()
    messages = stack.wait_for_idle()

    notices = [m for m in messages if m["text"].startswith("✅ TELEGLAS online · WebSocket stream")]
    assert sorted(str(m["chat_id"]) for m in notices) == sorted(CHATS)  # the listener's start-up notice, once per chat
    received = sorted((str(m["chat_id"]), m["text"]) for m in messages if m not in notices)
    assert received == sorted((chat, text) for chat in CHATS for text in EXPECTED)
    assert all(
        m["parse_mode"] == "HTML" and json.loads(m["params"]["link_preview_options"]) == {"is_disabled": True}
        for m in messages
    )

    # The listener survived every bad frame, with a log line for each.
    assert listener.running
    listener_log = listener.log_text()
    assert "malformed frame: not JSON" in listener_log and "}{ this is not JSON" in listener_log
    assert "item rejected: item 0: missing field 'price'" in listener_log
    assert "unknown frame (no channel/data (not a data frame))" in listener_log
    assert "[ALERT_ENGINE] duplicate liquidation Binance BTCUSDT dropped" in worker.log_text()
    assert re.search(
        r"\[SENDER\] alert=\S+ chat=\S+ rate_limited 429: Too Many Requests: retry after 1; every sender of this bot "
        r"pauses 1\.0 s",
        worker.log_text(),
    )
    assert re.search(
        r"\[SENDER\] alert=\S+ chat=\S+ server_error 500: Internal Server Error; retry 1/5 in (1\.[5-9]\d*|2\.0) s",
        worker.log_text(),
    )

    # `celery inspect` against the running worker shows both tasks under their queues.
    inspect = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "teleglas", "inspect", "registered", "queue", "--timeout", "10"],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert inspect.returncode == 0, inspect.stderr
    assert "teleglas.process_events [queue=events]" in inspect.stdout
    assert "teleglas.send_message [queue=telegram]" in inspect.stdout

    listener.signal(signal.SIGTERM)
    assert listener.process.wait(15) == 0
    assert re.search(
        r"listener stopped: frames=9 events=6 published=6 bad_frames=1 unknown_frames=1 rejected_items=1 oversized=0 "
        r"dropped=0",
        listener.log_text(),
    )

    # No secret in any log line of any process, while the redacted forms show that redaction ran.
    stack.stop()
    logs = {path.name: path.read_text(encoding="utf-8", errors="replace") for path in stack.workdir.glob("*.log")}
    token_secret = DEMO_ALERT_TOKEN.split(":", 1)[1]
    for name, text in logs.items():
        assert DEMO_ALERT_TOKEN not in text and token_secret not in text, name
        assert DEMO_WS_KEY not in text, name
    assert "cg-api-key=***" in logs["listener.log"]
