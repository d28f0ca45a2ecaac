"""The alert analytics: latency percentiles, price-move windows, suppression counts, alert counts."""

from __future__ import annotations

import pytest

from teleglas.dashboard import analytics
from teleglas.source.coinglass.rest_records import Candle, parse_price_candles
from teleglas.state.history import AlertRecord, DigestRecord, PriceMove, SentRecord

T0 = 1_795_000_020_000  # 20 s into a minute
MIN = 60_000


def record(
    alert_id: str,
    kind: str = "liquidation",
    side: str = "LONG",
    form: str = "single",
    symbol: str = "BTCUSDT",
    price: float | None = 100.0,
    event_ms: int | None = T0,
    decided_ms: int | None = None,
) -> AlertRecord:
    return AlertRecord(
        alert_id,
        kind,
        form,
        symbol,
        "BTC",
        side,
        "Binance",
        1e6,
        price,
        event_ms,
        1,
        decided_ms or (event_ms or T0) + 50,
    )


def test_percentiles_are_nearest_rank_values_that_occurred():
    samples = [float(i) for i in range(1, 101)]  # 1..100
    assert analytics.percentiles(samples) == {50: 50.0, 95: 95.0, 99: 99.0}
    assert analytics.percentiles([0.3, 0.1, 0.2]) == {50: 0.2, 95: 0.3, 99: 0.3}
    assert analytics.percentiles([7.0]) == {50: 7.0, 95: 7.0, 99: 7.0}
    assert analytics.percentiles([]) == {50: None, 95: None, 99: None}


def test_percentiles_of_a_skewed_sample_show_the_tail():
    samples = [0.05] * 90 + [2.0] * 9 + [30.0]
    assert analytics.percentiles(samples) == {50: 0.05, 95: 2.0, 99: 2.0}
    assert analytics.percentiles(samples, (100,)) == {100: 30.0}


def candles(first_open: int, closes: list[float]) -> list[Candle]:
    return [Candle(first_open + i * MIN, close) for i, close in enumerate(closes)]


def test_price_move_is_the_close_of_the_candle_holding_event_time_plus_the_window():
    minute0 = T0 - T0 % MIN
    closes = [100.0 + i for i in range(70)]  # the candle opened i minutes after minute0 closes at 100 + i
    moves = analytics.price_moves(100.0, T0, candles(minute0, closes), now_ms=minute0 + 70 * MIN)
    assert moves == {5: PriceMove(5, 105.0, 5.0), 15: PriceMove(15, 115.0, 15.0), 60: PriceMove(60, 160.0, 60.0)}


def test_price_move_waits_until_its_candle_has_closed():
    minute0 = T0 - T0 % MIN
    series = candles(minute0, [100.0 - i for i in range(70)])
    # 5 min later: the candle opened at minute0+5 closes at minute0+6.
    assert analytics.price_moves(100.0, T0, series, now_ms=minute0 + 6 * MIN - 1) == {}
    moves = analytics.price_moves(100.0, T0, series, now_ms=minute0 + 6 * MIN)
    assert set(moves) == {5} and moves[5].pct == pytest.approx(-5.0)
    assert set(analytics.price_moves(100.0, T0, series, now_ms=minute0 + 16 * MIN)) == {5, 15}


def test_price_move_skips_missing_candles_and_a_price_of_zero():
    minute0 = T0 - T0 % MIN
    gap = [c for c in candles(minute0, [101.0] * 70) if c.open_ms != minute0 + 15 * MIN]
    assert set(analytics.price_moves(100.0, T0, gap, now_ms=minute0 + 70 * MIN)) == {5, 60}
    assert analytics.price_moves(0.0, T0, gap, now_ms=minute0 + 70 * MIN) == {}


def test_moves_due_lists_the_closed_windows_not_yet_measured():
    alert = record("a")
    minute0 = T0 - T0 % MIN
    assert analytics.moves_due(alert, {}, minute0 + 5 * MIN) == ()
    assert analytics.moves_due(alert, {}, minute0 + 16 * MIN) == (5, 15)
    assert analytics.moves_due(alert, {5: PriceMove(5, 1.0, 0.0)}, minute0 + 61 * MIN) == (15, 60)
    assert analytics.moves_due(record("b", kind="funding"), {}, minute0 + 61 * MIN) == ()
    assert analytics.moves_due(record("c", price=None), {}, minute0 + 61 * MIN) == ()


def test_pressure_follows_the_orders_each_side_forces():
    assert analytics.pressure("liquidation", "LONG") == -1  # liquidated longs are sold
    assert analytics.pressure("liquidation", "SHORT") == 1
    assert analytics.pressure("trade", "BUY") == 1
    assert analytics.pressure("trade", "SELL") == -1
    assert analytics.pressure("whale_position", "SHORT") == -1
    assert analytics.pressure("funding", "") == 0


def test_move_summary_counts_means_and_the_share_with_the_pressure():
    records = [record("a", side="LONG"), record("b", side="SHORT"), record("c", side="LONG"), record("d")]
    moves = {
        "a": {5: PriceMove(5, 99.0, -1.0), 15: PriceMove(15, 98.0, -2.0)},  # long liquidation, price fell: with
        "b": {5: PriceMove(5, 99.0, -3.0)},  # short liquidation, price fell: against
        "c": {5: PriceMove(5, 100.0, 0.0)},  # no move: neither
    }
    summary = analytics.move_summary(records, moves)
    assert summary[5] == {"measured": 3, "mean_abs_pct": pytest.approx(4 / 3), "with_pressure_share": 0.5}
    assert summary[15] == {"measured": 1, "mean_abs_pct": 2.0, "with_pressure_share": 1.0}
    assert summary[60] == {"measured": 0, "mean_abs_pct": None, "with_pressure_share": None}


def test_delivery_latency_per_chat_takes_the_first_delivery_and_expands_digests():
    alerts = {
        a.alert_id: a
        for a in (
            record("lead", event_ms=T0),
            record("late", event_ms=T0 + 1_000),
            record("storm", form="storm", event_ms=T0 - 10_000),
            record("notice", kind="system", event_ms=None),
        )
    }
    digests = {"digest-1": DigestRecord("digest-1", -100, ("late", "storm", "unknown"), T0 + 2_000)}
    sent = [
        SentRecord("lead", -100, (1,), T0 + 250, "t"),
        SentRecord("lead", -100, (9,), T0 + 9_000, "t"),  # a replay's copy: the first one counts
        SentRecord("lead", 42, (2,), T0 + 1_250, "t"),  # another chat: its own sample
        SentRecord("digest-1", -100, (3,), T0 + 3_000, "t"),
        SentRecord("notice", -100, (4,), T0, "t"),  # no event time: no sample
    ]
    latencies = analytics.delivery_latencies(alerts, digests, sent)
    assert sorted(latencies["single"]) == [0.25, 1.25, 2.0]
    assert latencies["storm"] == [13.0]
    assert set(latencies) == {
        "single",
        "storm",
    }  # the notice has no event time; "unknown" is not an alert of the window


def test_alert_counts_by_kind_symbol_and_hour_leave_out_notices_and_older_alerts():
    hour0 = T0 - T0 % analytics.HOUR_MS
    alerts = [
        record("a", decided_ms=hour0 + 10),
        record("b", kind="trade", side="BUY", symbol="ETHUSDT", decided_ms=hour0 + 20),
        record("c", decided_ms=hour0 + analytics.HOUR_MS + 5),
        record("n", kind="system", decided_ms=hour0 + 30),
        record("old", decided_ms=hour0 - 1),
    ]
    counts = analytics.alert_counts(alerts, since_ms=hour0, now_ms=hour0 + analytics.HOUR_MS + 10)
    assert counts["by_kind"] == {"liquidation": 2, "trade": 1}
    assert counts["by_symbol"] == [{"symbol": "BTCUSDT", "alerts": 2}, {"symbol": "ETHUSDT", "alerts": 1}]
    assert counts["by_hour"] == [
        {"hour_ms": hour0, "by_kind": {"liquidation": 1, "trade": 1}},
        {"hour_ms": hour0 + analytics.HOUR_MS, "by_kind": {"liquidation": 1}},
    ]


def test_alert_counts_list_empty_hours_too():
    hour0 = T0 - T0 % analytics.HOUR_MS
    counts = analytics.alert_counts([], since_ms=hour0, now_ms=hour0 + 3 * analytics.HOUR_MS)
    assert [h["hour_ms"] for h in counts["by_hour"]] == [hour0 + i * analytics.HOUR_MS for i in range(4)]
    assert counts["by_kind"] == {} and counts["by_symbol"] == []


def test_suppression_totals_sum_the_hourly_hashes():
    hourly = [{("cooldown",): 3.0, ("storm",): 40.0}, {}, {("cooldown",): 2.0, ("digest",): 5.0, ("duplicate",): 1.0}]
    assert analytics.suppression_totals(hourly) == {"cooldown": 5, "storm": 40, "digest": 5, "duplicate": 1}
    assert analytics.suppression_totals([]) == {}


def test_price_candles_parse_strings_and_numbers_and_refuse_the_rest():
    data = [
        {"time": T0 - T0 % MIN, "open": "1", "high": "2", "low": "0.5", "close": "96850.5"},
        {"time": T0 - T0 % MIN + MIN, "close": 96900},
        {"time": "soon", "close": "1"},
        {"time": T0 - T0 % MIN + 2 * MIN, "close": "NaN"},
        "not an object",
    ]
    candles_, rejected = parse_price_candles(data)
    assert candles_ == [Candle(T0 - T0 % MIN, 96850.5), Candle(T0 - T0 % MIN + MIN, 96900.0)]
    assert len(rejected) == 3
    assert parse_price_candles({"code": "0"}) == ([], ["price history data is dict, not a list"])
