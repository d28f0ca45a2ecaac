"""Sources as settings: what SOURCES accepts, which sources a listener streams without a CoinGlass key, where whale
alerts come from, and what health says when one of several sources is down."""

import time

import pytest

from teleglas.defines import MODE_POLLING, MODE_WEBSOCKET
from teleglas.ops.health import HealthThresholds, assess, gather
from teleglas.settings import SettingsError
from teleglas.state.liveness import source_from_statuses, streaming_sources
from tests.support.settings import make_settings

NOW = time.time()


def status(source, connected=True, whale_stream=True):
    fields = {"source": source, "is_connected": str(int(connected)), "updated_at": str(NOW)}
    return {**fields, "whale_stream": str(int(whale_stream))}


def test_sources_setting():
    assert make_settings().sources.sources == ("coinglass",)
    chosen = make_settings(SOURCES=" Binance, bybit,okx,binance ").sources
    assert chosen.sources == ("binance", "bybit", "okx") and chosen.exchanges == chosen.sources
    with pytest.raises(SettingsError, match="SOURCES: unknown source 'kraken'"):
        make_settings(SOURCES="coinglass,kraken")


def test_coinglass_streams_only_with_its_key():
    assert streaming_sources(make_settings(SOURCES="coinglass", COINGLASS_API_KEY_WS="")) == ()
    assert streaming_sources(make_settings(SOURCES="coinglass,binance", COINGLASS_API_KEY_WS="")) == ("binance",)
    assert streaming_sources(make_settings(SOURCES="coinglass,okx", COINGLASS_API_KEY_WS="k")) == ("coinglass", "okx")


def test_an_exchange_trade_stream_is_the_whale_stream_without_a_coinglass_key():
    settings = make_settings(SOURCES="binance,bybit", COINGLASS_API_KEY_WS="")
    assert source_from_statuses({"l-binance": status("binance")}, settings, NOW).mode == MODE_WEBSOCKET
    # A stream without trades (EXCHANGE_TRADE_SYMBOLS of another listener's config) does not count.
    found = source_from_statuses({"l-okx": status("okx", whale_stream=False)}, settings, NOW)
    assert found.mode == MODE_POLLING and "no listener connected" in found.reason
    nothing = make_settings(SOURCES="coinglass", COINGLASS_API_KEY_WS="")
    assert source_from_statuses({}, nothing, NOW).reason == "no COINGLASS_API_KEY_WS"


def test_health_names_each_source_that_is_down():
    listener = {
        "is_connected": 0,
        "sources": {"coinglass": {"is_connected": 1}, "binance": {"is_connected": 0}, "bybit": {"is_connected": 0}},
    }

    class Unreachable:
        @property
        def liveness(self):
            raise OSError

    report = gather(listener, Unreachable(), NOW)
    assert report["sources"]["coinglass"]["is_connected"] and not report["sources"]["binance"]["is_connected"]
    report.update(redis_reachable=True, worker_heartbeat_age_s=1.0)
    reasons = assess(report, HealthThresholds(worker_heartbeat_stale_s=30))
    assert reasons == ["binance stream disconnected", "bybit stream disconnected"]
