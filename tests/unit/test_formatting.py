from zoneinfo import ZoneInfo

import pytest

from teleglas.decide.formatting import format_event_alert, format_price, format_usd
from teleglas.devstack.emulators.telegram_html import parse_html
from teleglas.model.events import FuturesTrade, LiquidationOrder

UTC = ZoneInfo("UTC")
AT_19_30_45 = 1725478245120  # 2024-09-04 19:30:45.120 UTC
AT_19_31_12 = 1725478272480


def test_liquidation_alert_text_line_for_line():
    event = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.00, 2, 1_250_000, AT_19_30_45)
    assert format_event_alert(event, UTC) == (
        "🔥 LIQUIDATION ALERT\n"
        "📍 Exchange: Binance\n"
        "📊 Symbol: BTCUSDT\n"
        "💰 Price: $56,738.00\n"
        "📉 Side: SHORT\n"
        "💵 Size: $1,250,000\n"
        "⏰ Time: 19:30:45"
    )


def test_whale_trade_alert_text_line_for_line():
    event = FuturesTrade("Binance", "BTCUSDT", "BTC", 56750.00, 2, 2_500_000, AT_19_31_12)
    assert format_event_alert(event, UTC) == (
        "🐋 WHALE TRADE ALERT\n"
        "📍 Exchange: Binance\n"
        "📊 Symbol: BTCUSDT\n"
        "💰 Price: $56,750.00\n"
        "📈 Side: BUY\n"
        "💵 Size: $2,500,000\n"
        "⏰ Time: 19:31:12"
    )


@pytest.mark.parametrize(
    "event_type, side, line",
    [
        (LiquidationOrder, 1, "📈 Side: LONG"),
        (LiquidationOrder, 2, "📉 Side: SHORT"),
        (FuturesTrade, 1, "📉 Side: SELL"),
        (FuturesTrade, 2, "📈 Side: BUY"),
    ],
)
def test_side_word_and_arrow(event_type, side, line):
    text = format_event_alert(event_type("OKX", "ETHUSDT", "ETH", 2400.0, side, 1e6, AT_19_30_45), UTC)
    assert text.splitlines()[4] == line


@pytest.mark.parametrize(
    "price, text",
    [
        (56738, "$56,738.00"),
        (1, "$1.00"),
        (1234567.891, "$1,234,567.89"),
        (0.1234, "$0.1234"),
        (0.5, "$0.5000"),
        (0.00001234, "$0.00001234"),
        (0.000012345678, "$0.00001235"),
        (0.99999, "$1.00"),
        (0.012, "$0.01200"),
    ],
)
def test_price_format(price, text):
    assert format_price(price) == text


def test_usd_format():
    assert format_usd(1_250_000) == "$1,250,000"
    assert format_usd(182_500.5) == "$182,500"
    assert format_usd(182_500.51) == "$182,501"


def test_time_is_the_events_own_time_in_the_alert_timezone():
    event = LiquidationOrder("Binance", "BTCUSDT", "BTC", 1.0, 1, 1.0, AT_19_30_45)
    assert format_event_alert(event, ZoneInfo("Asia/Jakarta")).endswith("⏰ Time: 02:30:45")
    assert format_event_alert(event, ZoneInfo("America/New_York")).endswith("⏰ Time: 15:30:45")


def test_outside_strings_are_escaped_and_the_text_stays_valid_telegram_html():
    event = LiquidationOrder("<i>Ex&Co", "<b>X</b>USDT", "X", 1.0, 1, 1.0, AT_19_30_45)
    text = format_event_alert(event, UTC)
    assert "📊 Symbol: &lt;b&gt;X&lt;/b&gt;USDT" in text
    assert "📍 Exchange: &lt;i&gt;Ex&amp;Co" in text
    assert "📊 Symbol: <b>X</b>USDT" in parse_html(text).plain_text
