"""The dashboard's pure parts: what it makes of Redis contents (hostile where they came from the stream), its
auth check, rates, and the emulator pieces it relies on (live scenario times, price candles)."""

from __future__ import annotations

import base64
import json

import pytest

from teleglas.dashboard.analytics_view import alert_feed
from teleglas.dashboard.live import RateWindow, listener_view
from teleglas.dashboard.market_view import by_symbol, largest_orders, timeline
from teleglas.dashboard.server import credentials_match
from teleglas.devstack.emulators import price_path
from teleglas.devstack.emulators.scenario import Step, live_frame
from teleglas.model.events import LiquidationOrder
from teleglas.state.history import AlertRecord, DigestRecord, SentRecord, parse_entry
from teleglas.state.tape import LiquidationCell, liquidation_field, order_member, parse_liquidation_bucket

HOSTILE = "<img src=x onerror=alert(1)>USDT"


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_credentials_match_only_the_configured_pair():
    assert credentials_match(basic("ops:s3cret"), "ops", "s3cret")
    assert credentials_match(basic("ops:s3:cret"), "ops", "s3:cret")  # a colon inside the password
    assert not credentials_match(basic("ops:wrong"), "ops", "s3cret")
    assert not credentials_match(basic("other:s3cret"), "ops", "s3cret")
    assert not credentials_match(basic("ops"), "ops", "")
    assert not credentials_match("Basic !!!not-base64", "ops", "s3cret")
    assert not credentials_match("Bearer abc", "ops", "s3cret")
    assert not credentials_match(None, "ops", "s3cret")
    assert not credentials_match("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "ops", "s3cret")


def test_listener_view_parses_every_field_and_survives_garbage():
    now = 1_000.0
    good = {
        "is_connected": "1",
        "updated_at": "999.5",
        "last_pong_time": "990",
        "connected_since": "900",
        "reconnects": "2",
        "frames": "10",
        "events": "12",
        "bad_frames": "1",
        "unknown_frames": "1",
        "oversized_frames": "0",
        "channel_events": json.dumps({"liquidationOrders": 12, "other": 0}),
    }
    view = listener_view("host-1", good, now, stale_after_s=30)
    assert view["connected"] and not view["stale"]
    assert (view["last_pong_age_s"], view["uptime_s"], view["reconnects"], view["bad_frames"]) == (10.0, 100.0, 2, 2)
    assert view["channel_events"] == {"liquidationOrders": 12, "other": 0}
    garbage = {"is_connected": "1", "updated_at": "yesterday", "reconnects": "many", "channel_events": "{not json"}
    broken = listener_view("host-2", garbage, now, stale_after_s=30)
    assert broken["stale"] and not broken["connected"] and broken["reconnects"] == 0 and broken["channel_events"] == {}
    stale = listener_view("host-3", {**good, "updated_at": "900"}, now, stale_after_s=30)
    assert stale["stale"] and not stale["connected"]  # "connected" in a status nobody refreshed is not believed


def test_rate_window_gives_per_second_rates_and_restarts_from_zero():
    window = RateWindow(window_s=5)
    assert window.add(100.0, {"sent": 10}) == {"sent": 0.0}
    assert window.add(101.0, {"sent": 12}) == {"sent": 2.0}
    assert window.add(102.0, {"sent": 20}) == {"sent": 5.0}
    for t in range(103, 110):
        rates = window.add(float(t), {"sent": 20 + (t - 102) * 3})
    assert rates["sent"] == 3.0  # the old burst has left the window
    assert window.add(110.0, {"sent": 4})["sent"] >= 0  # a listener restarted: never a negative rate


def test_liquidation_bucket_round_trip_and_hostile_fields():
    fields = {
        liquidation_field(HOSTILE, "LONG").encode(): b"1000.5",
        (liquidation_field(HOSTILE, "LONG") + "|n").encode(): b"2",
        liquidation_field("BTC|USDT", "SHORT").encode(): b"10",
        b"garbage": b"not a number",
        b"LONG|ETHUSDT": b"3",
    }
    cells = {(c.symbol, c.side): c for c in parse_liquidation_bucket(fields)}
    assert cells[(HOSTILE, "LONG")] == LiquidationCell(HOSTILE, "LONG", 1000.5, 2)
    assert cells[("BTC|USDT", "SHORT")].usd == 10.0  # a "|" inside the symbol survives
    assert cells[("ETHUSDT", "LONG")].count == 0


def test_by_symbol_and_timeline_sum_the_buckets():
    buckets = {
        0: [LiquidationCell("BTCUSDT", "LONG", 100.0, 1), LiquidationCell("ETHUSDT", "SHORT", 50.0, 2)],
        10: [LiquidationCell("BTCUSDT", "SHORT", 300.0, 3)],
    }
    assert by_symbol(list(buckets.values())) == [
        {"symbol": "BTCUSDT", "long_usd": 100.0, "short_usd": 300.0, "count": 4},
        {"symbol": "ETHUSDT", "long_usd": 0.0, "short_usd": 50.0, "count": 2},
    ]
    assert timeline(buckets, 0, 20) == [
        {"t": 0, "long_usd": 100.0, "short_usd": 50.0},
        {"t": 10, "long_usd": 0.0, "short_usd": 300.0},
        {"t": 20, "long_usd": 0.0, "short_usd": 0.0},
    ]


def test_largest_orders_keep_the_hour_skip_what_the_tape_never_wrote():
    big = LiquidationOrder("Binance", HOSTILE, "X", 1.5, 1, 2_000_000.0, 1_795_000_000_000)
    small = LiquidationOrder("OKX", "ETHUSDT", "ETH", 3000.0, 2, 50_000.0, 1_795_000_001_000)
    old = LiquidationOrder("OKX", "SOLUSDT", "SOL", 150.0, 2, 9_000_000.0, 1_794_000_000_000)
    sets = [
        [(order_member(big).encode(), 2_000_000.0), (b"{not json", 5e9), (json.dumps({"kind": "x"}).encode(), 4e9)],
        [(order_member(small).encode(), 50_000.0), (order_member(old).encode(), 9e6)],
    ]
    orders = largest_orders(sets, since_ms=1_794_999_000_000)
    assert [(o["symbol"], o["usd"], o["side"]) for o in orders] == [
        (HOSTILE, 2_000_000.0, "LONG"),
        ("ETHUSDT", 50_000.0, "SHORT"),
    ]


def test_history_entries_this_version_did_not_write_are_refused():
    assert parse_entry({b"d": b"{not json"}) is None
    assert parse_entry({b"d": json.dumps({"type": "alert", "alert_id": "a"}).encode()}) is None  # fields missing
    assert parse_entry({b"d": json.dumps({"type": "mystery"}).encode()}) is None
    assert parse_entry({b"x": b"{}"}) is None
    sent = parse_entry(
        {
            b"d": json.dumps(
                {"type": "sent", "alert_id": "a", "chat_id": -1, "message_ids": [3], "sent_ms": 5, "text": HOSTILE}
            ).encode()
        }
    )
    assert sent == SentRecord("a", -1, (3,), 5, HOSTILE)


def test_alert_feed_is_newest_first_and_expands_digests():
    alerts = {
        "a": AlertRecord("a", "liquidation", "single", HOSTILE, "X", "LONG", "OKX", 5e5, 1.0, 1000, 1, 1050),
        "b": AlertRecord("b", "trade", "single", "ETHUSDT", "ETH", "BUY", "Binance", 2e6, 3000.0, 2000, 1, 2050),
    }
    digests = {"digest-1": DigestRecord("digest-1", -1, ("a", "b"), 4000)}
    sent = [SentRecord("a", -1, (1,), 1500, "<b>alert</b>"), SentRecord("digest-1", -1, (2,), 5000, "🧾 DIGEST")]
    feed = alert_feed(alerts, digests, list(reversed(sent)))
    assert [f["kind"] for f in feed] == ["digest", "liquidation"]
    assert feed[0]["symbols"] == [HOSTILE, "ETHUSDT"] and feed[0]["latency_s"] is None
    assert feed[1]["symbol"] == HOSTILE and feed[1]["latency_s"] == 0.5 and feed[1]["text"] == "<b>alert</b>"


def test_live_frame_gives_events_the_send_time_and_keeps_duplicates():
    frame = Step(
        "frame",
        json.dumps({"channel": "liquidationOrders", "data": [{"time": 1000}, {"time": 1300}, {"time": "bad"}]}),
        "liquidationOrders",
    )
    assigned: dict[int, int] = {}
    first = json.loads(live_frame(frame, assigned, 50_000).text)["data"]
    assert [item["time"] for item in first] == [50_000, 50_300, "bad"]
    again = json.loads(live_frame(frame, assigned, 90_000).text)[
        "data"
    ]  # the same frame replayed later: a duplicate still
    assert [item["time"] for item in again] == [50_000, 50_300, "bad"]
    raw = Step("frame", "not json", None)
    assert live_frame(raw, assigned, 1) is raw


def test_emulated_price_candles_are_deterministic_closed_minutes():
    spec = {"base": 100.0, "wave_pct": 1.0, "period_min": 60}
    now_ms = 1_795_000_030_000
    rows = price_path.candles(
        spec, {"interval": "1m", "start_time": str(now_ms - 10 * 60_000), "end_time": str(now_ms)}, now_ms
    )
    assert [r["time"] for r in rows] == list(range(now_ms - now_ms % 60_000 - 9 * 60_000, now_ms, 60_000))
    assert all(isinstance(r["close"], str) for r in rows)
    assert rows[0]["close"] == f"{price_path.price_at(spec, rows[0]['time'] // 60_000 + 1):.8g}"
    cheap = price_path.candles({"base": 0.1236}, {"interval": "1m", "limit": "1"}, now_ms)[0]
    assert (
        0.12 < float(cheap["close"]) < 0.13 and len(cheap["close"].split(".")[1]) > 4
    )  # a sub-cent coin keeps its digits
    assert rows == price_path.candles(
        spec, {"interval": "1m", "start_time": str(now_ms - 10 * 60_000), "end_time": str(now_ms)}, now_ms
    )
    assert len(price_path.candles(spec, {"interval": "1m", "limit": "3"}, now_ms)) == 3
    for bad in ({"interval": "2m"}, {"interval": "1m", "limit": "many"}):
        with pytest.raises(price_path.CandleRequestError):
            price_path.candles(spec, bad, now_ms)


def test_price_move_list_puts_the_alerts_that_mattered_first():
    from teleglas.dashboard.analytics_view import _settled_move
    from teleglas.state.history import PriceMove

    settled_small = {5: PriceMove(5, 1, 3.0), 15: PriceMove(15, 1, 2.0), 60: PriceMove(60, 1, -0.5)}
    settled_big = {5: PriceMove(5, 1, 0.1), 15: PriceMove(15, 1, 0.2), 60: PriceMove(60, 1, -4.0)}
    young_big = {5: PriceMove(5, 1, 9.0)}
    ranked = sorted([young_big, settled_small, settled_big], key=_settled_move, reverse=True)
    assert ranked == [settled_big, settled_small, young_big]
