"""CoinGlass REST envelope and error mapping, REST record parsing, and the funding / open-interest decisions."""

from zoneinfo import ZoneInfo

import pytest

from teleglas.decide.market_checks import (
    FundingState,
    format_funding_alert,
    funding_should_alert,
    open_interest_change,
    open_interest_should_alert,
)
from teleglas.source.coinglass.rest import (
    CoinGlassAuthError,
    CoinGlassPlanError,
    CoinGlassRateLimited,
    CoinGlassRequestError,
    CoinGlassServerError,
    check_envelope,
    required_plan,
)
from teleglas.source.coinglass.rest_records import (
    parse_coin_market,
    parse_funding_rates,
    parse_liquidation_totals,
    parse_open_interest,
    parse_whale_alerts,
)


def test_success_envelope_gives_its_data():
    assert check_envelope(200, {"code": "0", "msg": "success", "data": [1, 2]}, "/p") == [1, 2]


@pytest.mark.parametrize(
    "status, body, error",
    [
        (401, None, CoinGlassAuthError),
        (200, {"code": "401", "msg": "Invalid API key"}, CoinGlassAuthError),
        (429, {"code": "429", "msg": "Too Many Requests"}, CoinGlassRateLimited),
        (200, {"code": "50001", "msg": "Too many requests, rate limit"}, CoinGlassRateLimited),
        (500, {"code": "500", "msg": "Internal Server Error"}, CoinGlassServerError),
        (502, "<html>bad gateway</html>", CoinGlassServerError),
        (200, ["not", "an", "envelope"], CoinGlassServerError),
        (
            200,
            {"code": "400", "msg": "Your current plan does not support this endpoint, please upgrade"},
            CoinGlassPlanError,
        ),
        (200, {"code": "401", "msg": "Upgrade plan"}, CoinGlassPlanError),  # the plan refusal seen in the wild
        (401, {"code": "401", "msg": "Upgrade plan"}, CoinGlassPlanError),  # "401: key, endpoint permission or plan"
        (400, {"code": "400", "msg": "API key missing."}, CoinGlassAuthError),
        (401, {"code": "401", "msg": ""}, CoinGlassAuthError),
        (400, {"code": "400", "msg": "symbol is required"}, CoinGlassRequestError),
        (200, {"code": 0, "msg": "success", "data": 1}, None),  # a numeric code still means success
    ],
)
def test_every_failure_maps_to_a_typed_error(status, body, error):
    if error is None:
        assert check_envelope(status, body, "/api/x") == 1
        return
    with pytest.raises(error) as info:
        check_envelope(status, body, "/api/x")
    assert "/api/x" in str(info.value)


def test_a_plan_error_names_the_endpoint_the_plan_the_docs_ask_for_and_coinglass_words():
    with pytest.raises(CoinGlassPlanError) as info:
        check_envelope(200, {"code": "401", "msg": "Upgrade plan"}, "/api/futures/rsi/list")
    assert str(info.value) == (
        "/api/futures/rsi/list is not available on this key's CoinGlass plan (the docs ask for Standard or higher): "
        "CoinGlass said 'Upgrade plan'"
    )
    assert (info.value.path, info.value.required, info.value.wording) == (
        "/api/futures/rsi/list",
        "Standard",
        "Upgrade plan",
    )


@pytest.mark.parametrize(
    "path, params, plan",
    [
        ("/api/futures/supported-coins", None, ""),
        ("/api/futures/coins-markets", None, "Standard"),
        ("/api/hyperliquid/whale-alert", None, "Startup"),
        ("/api/futures/orderbook/ask-bids-history", {"interval": "4h"}, ""),
        ("/api/futures/orderbook/ask-bids-history", {"interval": "1h"}, "Startup"),
        ("/api/futures/orderbook/ask-bids-history", {"interval": "30m"}, "Startup"),
        ("/api/futures/price/history", {"interval": "1m"}, "Standard"),
        ("/api/futures/price/history", {"interval": "1d"}, ""),
    ],
)
def test_the_plan_each_request_needs_follows_the_docs_plan_tables(path, params, plan):
    assert required_plan(path, params) == plan


def test_whale_records_are_parsed_one_by_one():
    data = [
        {
            "user": "0xabc",
            "symbol": "BTC",
            "position_size": "-12.5",
            "entry_price": 97000,
            "position_value_usd": "-1212500",
            "position_action": 1,
            "create_time": 1725478245120,
        },
        {
            "user": "0xdef",
            "symbol": "ETH",
            "position_size": 0,
            "entry_price": 1,
            "position_value_usd": 1,
            "position_action": 1,
            "create_time": 1,
        },
        "junk",
        {
            "user": "0x123",
            "symbol": "SOL",
            "position_size": 5,
            "entry_price": 140,
            "position_value_usd": 700,
            "position_action": 3,
            "create_time": 1,
        },
        {
            "user": "0x123",
            "symbol": "SOL\x07",
            "position_size": 5,
            "entry_price": 140,
            "position_value_usd": 700,
            "position_action": 1,
            "create_time": 1725478245120,
        },
        {
            "user": "0x123",
            "symbol": "SOL",
            "position_size": 5,
            "entry_price": 140,
            "position_value_usd": 700,
            "position_action": 1,
            "create_time": 1,
        },
    ]
    events, rejected = parse_whale_alerts(data)
    assert [(e.symbol, e.side_name, e.usd, e.action, e.user) for e in events] == [
        ("BTC", "SHORT", 1_212_500.0, 1, "0xabc")
    ]
    # The same field rules as the stream: control characters and impossible times are refused too.
    assert rejected == [
        "whale alert 1: position_size out of range",
        "whale alert 2: not an object",
        "whale alert 3: position_action 3",
        "whale alert 4: symbol contains control characters",
        "whale alert 5: create_time is not a millisecond timestamp",
    ]
    assert parse_whale_alerts({"oops": 1}) == ([], ["whale alerts: data is dict, not a list"])


def test_funding_and_open_interest_records():
    rates, rejected = parse_funding_rates(
        [
            {
                "symbol": "BTC",
                "stablecoin_margin_list": [
                    {
                        "exchange": "Binance",
                        "funding_rate": "0.15",
                        "funding_rate_interval": 8,
                        "next_funding_time": 1732521600000,
                    }
                ],
                "token_margin_list": [{"exchange": "OKX", "funding_rate": None}],
            },
        ]
    )
    assert [(r.exchange, r.rate_pct, r.margin) for r in rates] == [("Binance", 0.15, "stablecoin")]
    assert rejected == ["funding BTC token: funding_rate is NoneType, not a number"]
    assert (
        parse_open_interest(
            [{"exchange": "Binance", "open_interest_usd": 2}, {"exchange": "All", "open_interest_usd": 9}], "BTC"
        ).usd
        == 9
    )
    assert (
        parse_open_interest(
            [{"exchange": "A", "open_interest_usd": 2}, {"exchange": "B", "open_interest_usd": "3"}], "BTC"
        ).usd
        == 5
    )
    with pytest.raises(ValueError):
        parse_open_interest([], "BTC")


@pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200b", "\ufeff", "\u2028", "\x9b"])
@pytest.mark.parametrize("name", ["symbol", "user"])
def test_whale_names_with_bidi_or_format_characters_are_rejected(name, char):
    record = {
        "user": "0xabc",
        "symbol": "BTC",
        "position_size": 1,
        "entry_price": 97000,
        "position_value_usd": 97000,
        "position_action": 1,
        "create_time": 1725478245120,
    }
    events, rejected = parse_whale_alerts([{**record, name: f"0x{char}cba"}, record])
    assert len(events) == 1 and rejected == [f"whale alert 0: {name} contains control characters"]


@pytest.mark.parametrize("margin_list", [5, True, "Binance", {"exchange": "Binance"}])
def test_a_funding_margin_list_that_is_not_a_list_is_rejected_and_the_other_kept(margin_list):
    """A number there raised TypeError, a string or an object was walked character by character or key by key."""
    rates, rejected = parse_funding_rates(
        [
            {
                "symbol": "BTC",
                "stablecoin_margin_list": margin_list,
                "token_margin_list": [{"exchange": "OKX", "funding_rate": 0.01}],
            }
        ]
    )
    assert [(r.exchange, r.margin) for r in rates] == [("OKX", "token")]
    assert rejected == [f"funding BTC stablecoin: list is {type(margin_list).__name__}, not a list"]


def test_names_that_are_not_strings_match_nothing_and_a_volume_out_of_range_is_none():
    huge = 10**5000  # json.loads cannot give it, but str() of it raises ValueError, not FieldError
    btc = {"symbol": "btc", "current_price": 97000, "open_interest_usd": 5e10, "open_interest_volume_ratio": 1e-300}
    market = parse_coin_market(
        [{"symbol": huge, "current_price": 1}, {"symbol": ["BTC"], "current_price": 1}, btc], "BTC"
    )
    assert market.price == 97000 and market.volume_24h_usd is None  # 5e10 / 1e-300 is inf
    totals = parse_liquidation_totals(
        [
            {"exchange": huge, "long_liquidation_usd": 1, "short_liquidation_usd": 2},
            {"exchange": "B", "long_liquidation_usd": 3, "short_liquidation_usd": 4},
        ],
        "1h",
    )
    assert (totals.long_usd, totals.short_usd) == (4, 6)


def test_funding_threshold_cooldown_and_sign_flip():
    positive = FundingState(sign=1, at=1000.0, by="task")
    assert not funding_should_alert(0.05, 0.1, None, 1000, 3600)  # below the threshold
    assert funding_should_alert(0.1, 0.1, None, 1000, 3600) and funding_should_alert(-0.2, 0.1, None, 1000, 3600)
    assert not funding_should_alert(0.3, 0.1, positive, 1000 + 3599, 3600)  # same sign inside the cooldown
    assert funding_should_alert(0.3, 0.1, positive, 1000 + 3600, 3600)  # after it
    assert funding_should_alert(-0.3, 0.1, positive, 1001, 3600)  # a sign flip alerts at once
    text = format_funding_alert(
        parse_funding_rates(
            [
                {
                    "symbol": "BTC",
                    "stablecoin_margin_list": [
                        {
                            "exchange": "Bybit",
                            "funding_rate": 0.152,
                            "funding_rate_interval": 8,
                            "next_funding_time": 1732521600000,
                        }
                    ],
                }
            ]
        )[0][0],
        ZoneInfo("UTC"),
    )
    assert text == (
        "💸 FUNDING RATE EXTREME\n📊 Symbol: BTC\n📍 Exchange: Bybit (USDT/USD-margined)\n"
        "📈 Rate: +0.1520% per 8 h (longs pay shorts)\n⏰ Next funding: 08:00:00"
    )


def test_open_interest_change_is_measured_inside_the_window():
    samples = [(0.0, 100.0), (600.0, 103.0), (1000.0, 108.0)]
    assert open_interest_change(samples, now=1000, window_s=900) == pytest.approx((108 / 103 * 100 - 100, 103.0))
    assert open_interest_change(samples, now=1000, window_s=1000) == pytest.approx((8.0, 100.0))
    assert open_interest_change([(1000.0, 5.0)], now=1000, window_s=900) is None  # one sample is no change
    assert (
        open_interest_should_alert(-5.0, 5.0)
        and not open_interest_should_alert(4.99, 5.0)
        and not open_interest_should_alert(None, 5.0)
    )
