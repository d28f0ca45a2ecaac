"""Several sources through every real process (listener, Redis, Celery worker, Telegram emulator, the CoinGlass and
exchange emulators): overlapping streams alert each event once, and without any CoinGlass key the exchanges alone
give alerts while the CoinGlass-only commands say what they need."""

import pytest

from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, DEMO_MANUAL_TOKEN, wait_until
from teleglas.ops.metrics import EVENTS_DUPLICATE, EVENTS_MERGED, parse_fields
from teleglas.state.keys import metric_key
from teleglas.state.tape import parse_liquidation_bucket
from tests.support.messages import alerted, write_scenario

T = 1725478245120
CHATS = ("42", "43")
TRADES = "futures_trades@Binance_BTCUSDT@10000"
ALERT_BOT = int(DEMO_ALERT_TOKEN.split(":")[0])
MANUAL_BOT = int(DEMO_MANUAL_TOKEN.split(":")[0])


def cg_item(exchange, symbol, side, price, usd, time_ms):
    """CoinGlass's liquidation item: side 1 long, 2 short liquidated."""
    base = symbol.removesuffix("USDT")
    return {
        "baseAsset": base,
        "exName": exchange,
        "price": price,
        "side": side,
        "symbol": symbol,
        "time": time_ms,
        "volUsd": usd,
    }


def force_order(symbol, side, price, qty, time_ms):
    """Binance's own: the closing order's side (SELL closes a long)."""
    order = {"s": symbol, "S": "SELL" if side == 1 else "BUY", "o": "LIMIT", "f": "IOC", "q": qty, "p": price}
    return {
        "e": "forceOrder",
        "E": time_ms + 2,
        "o": {**order, "ap": price, "X": "FILLED", "l": qty, "z": qty, "T": time_ms},
    }


def agg_trade(symbol, price, qty, taker_buys, time_ms):
    return {
        "e": "aggTrade",
        "E": time_ms + 1,
        "s": symbol,
        "a": 1,
        "p": price,
        "q": qty,
        "f": 1,
        "l": 2,
        "T": time_ms,
        "m": not taker_buys,
    }


def bybit_liquidation(symbol, side, price, size, time_ms):
    """Bybit's own: S is the liquidated position (Buy = a long)."""
    item = {"T": time_ms, "s": symbol, "S": "Buy" if side == 1 else "Sell", "v": size, "p": price}
    return {"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": time_ms + 300, "data": [item]}


def merged_and_duplicates(stack) -> tuple[dict, dict]:
    client = stack.redis()

    def by_source(metric) -> dict:
        return {labels[0]: n for labels, n in parse_fields(client.hgetall(metric_key(metric.name))).items()}

    return by_source(EVENTS_MERGED), by_source(EVENTS_DUPLICATE)


def test_overlapping_sources_alert_each_liquidation_once(make_stack, tmp_path):
    """SOURCES=coinglass,binance,bybit: CoinGlass relays four Binance and Bybit events the exchanges also send
    themselves (with their own price, size rounding and time); each exchange has one CoinGlass missed."""
    overlap_cg = [
        cg_item("Binance", "BTCUSDT", 2, 56738.0, 1_250_000, T),  # short liquidated
        cg_item("Binance", "ETHUSDT", 1, 2415.5, 800_000, T + 5_000),
        cg_item("Binance", "BNBUSDT", 1, 540.1, 5_000, T + 6_000),  # below every threshold: still one event
        cg_item("Bybit", "DOGEUSDT", 1, 0.1234, 300_000, T + 7_000),
    ]
    coinglass_steps = [
        {"pause": 3.2},
        {"frame": {"channel": "liquidationOrders", "data": overlap_cg[:2]}},
        {"pause": 0.5},
        {"frame": {"channel": "liquidationOrders", "data": overlap_cg[2:]}},
        {"frame": {"channel": TRADES, "data": [{**cg_item("Binance", "BTCUSDT", 2, 56750.0, 2_500_000, T + 9_000)}]}},
    ]
    binance_steps = [
        {"pause": 3.3},
        {"frame": force_order("BTCUSDT", 2, "56741.00", "22.030", T + 300)},  # $1,250,004
        {"frame": force_order("ETHUSDT", 1, "2414.90", "331.200", T + 5_400)},  # $799,815
        {"pause": 0.4},
        {"frame": force_order("BNBUSDT", 1, "540.10", "9.26", T + 6_200)},
        {"frame": force_order("SOLUSDT", 2, "131.40", "4600", T + 8_000)},  # $604,440, on Binance only
        {"frame": agg_trade("BTCUSDT", "56750.0", "44.053", True, T + 9_100)},  # $2,500,008 taker buy
    ]
    bybit_steps = [
        {"pause": 3.4},
        {"frame": bybit_liquidation("DOGEUSDT", 1, "0.1234", "2431000", T + 7_200)},  # $299,985
        {"frame": bybit_liquidation("XRPUSDT", 2, "0.5612", "450000", T + 7_500)},  # $252,540, on Bybit only
    ]
    stack = make_stack(
        scenario=write_scenario(tmp_path / "coinglass.jsonl", coinglass_steps),
        chat_ids=CHATS,
        settings_env={"SOURCES": "coinglass,binance,bybit"},
    )
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_coinglass_emulator()
    stack.start_binance_emulator(write_scenario(tmp_path / "binance.jsonl", binance_steps))
    stack.start_bybit_emulator(write_scenario(tmp_path / "bybit.jsonl", bybit_steps))
    stack.start_worker()
    listener = stack.start_listener()
    stack.wait_for_replay(exchanges=("binance", "bybit"))
    messages = stack.wait_for_idle(settle_s=2.5)  # two metric flushes after the last send

    notices = [m for m in messages if m["text"].startswith("✅ TELEGLAS online")]
    assert len(notices) == len(CHATS) and "Sources: CoinGlass, Binance, Bybit" in notices[0]["text"]
    for chat in CHATS:
        alerts = [m for m in messages if str(m["chat_id"]) == chat and m not in notices]
        assert sorted(alerted(alerts)) == sorted(["BTCUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"])
    merged, duplicates = merged_and_duplicates(stack)
    assert sum(merged.values()) == 5 and duplicates == {}  # the overlap: 4 liquidations and the whale trade
    # The dashboard's market tape counts each liquidation once too, whichever copy came first.
    cells = [
        cell
        for key in stack.redis().keys("teleglas:tape:liquidations:*")
        for cell in parse_liquidation_bucket(stack.redis().hgetall(key))
    ]
    assert sorted((c.symbol, c.side, c.count) for c in cells) == [
        ("BNBUSDT", "LONG", 1),
        ("BTCUSDT", "SHORT", 1),
        ("DOGEUSDT", "LONG", 1),
        ("ETHUSDT", "LONG", 1),
        ("SOLUSDT", "SHORT", 1),
        ("XRPUSDT", "SHORT", 1),
    ]
    assert next(c.usd for c in cells if c.symbol == "BTCUSDT") == pytest.approx(1_250_000, rel=0.01)
    assert listener.running
    statuses = stack.redis().keys("teleglas:listener:*")
    assert sorted(key.decode().rsplit("-", 1)[1] for key in statuses) == ["binance", "bybit", "coinglass"]


def test_without_a_coinglass_key_the_exchanges_alone_alert(make_stack):
    """SOURCES=binance,bybit,okx, no CoinGlass key and no CoinGlass emulator: the bundled exchange scenarios (the
    ones `make demo-exchanges` plays) give their five alerts; /liq answers that it needs a key."""
    stack = make_stack(
        chat_ids=CHATS,
        settings_env={"SOURCES": "binance,bybit,okx", "COINGLASS_API_KEY_WS": "", "COINGLASS_API_KEY": ""},
    )
    stack.start_redis()
    stack.start_telegram_emulator()
    for exchange in ("binance", "bybit", "okx"):
        stack.start_exchange_emulator(exchange)
    worker = stack.start_worker()
    stack.start_listener()
    stack.start_manual_bot()
    stack.wait_for_replay(coinglass=False, exchanges=("binance", "bybit", "okx"))
    messages = [m for m in stack.wait_for_idle() if m["bot_id"] == ALERT_BOT]

    notices = [m for m in messages if m["text"].startswith("✅ TELEGLAS online · WebSocket stream")]
    assert [n["text"].splitlines()[1] for n in notices] == ["Sources: Binance, Bybit, OKX"] * len(CHATS)
    for chat in CHATS:
        alerts = [m for m in messages if str(m["chat_id"]) == chat and m not in notices]
        assert sorted(alerted(alerts)) == sorted(["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "BTCUSDT"])
    texts = "\n".join(m["text"] for m in messages)
    assert "OKX" in texts and "Bybit" in texts and "Binance" in texts
    assert "Traceback" not in worker.log_text()

    stack.send_user_message("/liq BTC", 11111, 11111)
    wait_until(
        lambda: any(m["bot_id"] == MANUAL_BOT and m["chat_id"] == 11111 for m in stack.telegram_messages()),
        15,
        what="the manual bot's answer",
    )
    answer = next(m["text"] for m in stack.telegram_messages() if m["bot_id"] == MANUAL_BOT and m["chat_id"] == 11111)
    assert answer == "/liq needs a CoinGlass API key (COINGLASS_API_KEY)."
    assert "coinglass-emulator" not in stack.processes
