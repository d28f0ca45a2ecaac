import pytest

from teleglas.model.events import FuturesTrade, LiquidationOrder, PayloadError, event_from_payload

LIQ = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 2, 1_250_000.0, 1725478245120)


def test_payload_round_trip_keeps_type_and_values():
    trade = FuturesTrade("OKX", "ETHUSDT", "ETH", 2411.25, 1, 730_000.0, 1725478420010)
    for event in (LIQ, trade):
        assert event_from_payload(event.to_payload()) == event


def test_fingerprint_depends_on_content_only():
    same = LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738, 2, 1_250_000, 1725478245120)
    assert same.fingerprint() == LIQ.fingerprint()
    assert (
        LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 1, 1_250_000.0, 1725478245120).fingerprint()
        != LIQ.fingerprint()
    )
    assert (
        FuturesTrade(
            *[getattr(LIQ, f) for f in ("exchange", "symbol", "base_asset", "price", "side", "usd", "time_ms")]
        ).fingerprint()
        != LIQ.fingerprint()
    )
    assert (
        LiquidationOrder("Binance", "BTCUSDT", "BTC", 56738.0, 2, 1_250_000.0, 1725478245121).fingerprint()
        != LIQ.fingerprint()
    )


@pytest.mark.parametrize(
    "payload, message",
    [
        ([], "not an object"),
        ({"kind": "funding"}, "unknown event kind"),
        ({**LIQ.to_payload(), "side": 9}, "side"),
        ({k: v for k, v in LIQ.to_payload().items() if k != "symbol"}, "lacks 'symbol'"),
    ],
)
def test_bad_payloads(payload, message):
    with pytest.raises(PayloadError, match=message):
        event_from_payload(payload)
