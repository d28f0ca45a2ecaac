from teleglas.alerts.thresholds import qualifies
from teleglas.coinglass.events import FuturesTrade, LiquidationOrder
from tests.conftest import make_settings


def liq(usd):
    return LiquidationOrder("Binance", "BTCUSDT", "BTC", 50_000.0, 1, usd, 1725478245120)


def trade(usd):
    return FuturesTrade("Binance", "BTCUSDT", "BTC", 50_000.0, 2, usd, 1725478245120)


def test_defaults_are_100k_for_liquidations_and_500k_for_whales(settings):
    assert (settings.liquidation_min_usd, settings.whale_min_usd) == (100_000, 500_000)
    assert qualifies(liq(100_000), settings) and not qualifies(liq(99_999.99), settings)
    assert qualifies(trade(500_000), settings) and not qualifies(trade(499_999.99), settings)


def test_thresholds_come_from_settings():
    custom = make_settings(LIQUIDATION_MIN_USD="1000", WHALE_MIN_USD="2000000")
    assert qualifies(liq(1000), custom)
    assert not qualifies(trade(1_999_999), custom) and qualifies(trade(2_000_000), custom)


def test_whale_alerts_can_be_disabled():
    off = make_settings(ENABLE_WHALE_ALERTS="false")
    assert not qualifies(trade(10_000_000), off)
    assert qualifies(liq(10_000_000), off)
