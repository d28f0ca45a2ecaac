"""The manual bot's pure parts: argument parsing, access rules, the command budget, start-up refusals, cards."""

from zoneinfo import ZoneInfo

import pytest

from teleglas.manual import market_cards as cards
from teleglas.manual.access import Access, Requester, over_budget_reply
from teleglas.manual.bot import refusal_to_start
from teleglas.manual.command_args import (
    ArgumentError,
    amount_argument,
    duration_argument,
    kinds_argument,
    symbol_argument,
    threshold_arguments,
)
from teleglas.manual.commands import BY_NAME, COMMANDS, help_text
from teleglas.model.symbols import coin_of, parse_coin
from teleglas.settings import load_settings
from teleglas.source.coinglass.rest_records import (
    CoinMarket,
    LiquidationTotals,
    OpenInterestRow,
    OrderbookDepth,
    parse_coin_market,
    parse_fear_greed,
    parse_liquidation_totals,
)

UTC = ZoneInfo("UTC")
ALERT = "100000001:alertSecretAAAA"
MANUAL = "100000002:manualSecretBBBB"


def settings(**env):
    return load_settings({"TELEGRAM_ALERT_TOKEN": ALERT, "TELEGRAM_TOKEN": MANUAL, **env}, env_file=None)


@pytest.mark.parametrize(
    "raw, coin",
    [("btc", "BTC"), ("BTCUSDT", "BTC"), ("BTC/USDT", "BTC"), ("$eth", "ETH"), ("1000PEPEUSDT", "1000PEPE")],
)
def test_symbols_become_coins(raw, coin):
    assert parse_coin(raw) == coin


@pytest.mark.parametrize("raw", ["<b>", "BTC;DROP", "", "A" * 40, "bt c", "BTC\u202e"])
def test_hostile_symbols_are_refused(raw):
    assert parse_coin(raw) is None


def test_event_coin_from_base_asset_or_pair():
    assert coin_of("BTCUSDT", "") == "BTC" and coin_of("ETH-USD", "") == "ETH" and coin_of("XBTUSD", "XBT") == "XBT"


def test_argument_errors_tell_what_to_type():
    with pytest.raises(ArgumentError, match=r"^Which coin\? Usage: /raw SYMBOL$"):
        symbol_argument([], "/raw SYMBOL")
    with pytest.raises(ArgumentError, match="is not a coin symbol"):
        symbol_argument(["<script>"], "/raw SYMBOL")
    assert (
        duration_argument(["30m"], "u") == 1800
        and duration_argument(["2h"], "u") == 7200
        and duration_argument(["15"], "u") == 900
    )
    with pytest.raises(ArgumentError, match="30 days"):
        duration_argument(["31d"], "u")
    with pytest.raises(ArgumentError, match="not a duration"):
        duration_argument(["forever"], "u")
    assert (
        amount_argument("250k", "u") == 250_000
        and amount_argument("$1.5m", "u") == 1_500_000
        and amount_argument("1,000,000", "u") == 1e6
    )
    with pytest.raises(ArgumentError):
        amount_argument("-5", "u")
    assert kinds_argument(["liq,whales", "oi"]) == ["liquidation", "whale", "oi"]
    with pytest.raises(ArgumentError, match="Unknown alert kind “bogus”"):
        kinds_argument(["bogus"])
    assert threshold_arguments(["btc", "liq", "250k"], "u") == ("BTC", "liquidation_min_usd", 250_000)
    with pytest.raises(ArgumentError, match="neither liq nor whale"):
        threshold_arguments(["BTC", "funding", "1"], "u")


def test_long_arguments_are_cut_when_quoted():
    with pytest.raises(ArgumentError) as info:
        duration_argument(["x" * 500], "u")
    assert len(str(info.value)) < 150


def test_access_rules():
    statuses = {(-100, 1): "administrator", (-100, 2): "member", (-100, 3): "creator"}
    access = Access(
        frozenset({1, 2, 3}),
        market_data_public=False,
        member_status=lambda chat, user: statuses.get((chat, user), "left"),
    )
    assert access.refuse_settings_change(Requester(1, "private", 1)) is None
    assert access.refuse_settings_change(Requester(-100, "supergroup", 1)) is None
    assert access.refuse_settings_change(Requester(-100, "supergroup", 3)) is None
    assert (
        access.refuse_settings_change(Requester(-100, "supergroup", 2))
        == "Only this group's admins can change its alerts."
    )
    assert "Your Telegram user id is <code>9</code>" in access.refuse_settings_change(Requester(9, "private", 9))
    assert "channel post" in access.refuse_settings_change(Requester(-100, "channel", None))
    assert access.refuse_market_data(Requester(9, "private", 9)).startswith("Market data from this bot is limited")
    assert access.refuse_market_data(Requester(1, "private", 1)) is None
    assert Access(frozenset(), True, lambda c, u: "member").refuse_market_data(Requester(9, "private", 9)) is None


def test_status_is_for_the_allowed_users_unless_made_public():
    access = Access(frozenset({1}), market_data_public=True, member_status=lambda chat, user: "member")
    assert access.refuse_status(Requester(1, "private", 1)) is None
    refused = access.refuse_status(Requester(-100, "supergroup", 9))
    assert refused.startswith("The alert system's status is limited to the users in TELEGRAM_ALLOWED_USER_IDS.")
    assert access.refuse_status(Requester(-100, "channel", None)) is not None
    public = Access(frozenset(), True, lambda chat, user: "member", status_public=True)
    assert public.refuse_status(Requester(9, "private", 9)) is None


def test_one_at_a_time_runs_a_senders_messages_in_order_on_one_thread_and_survives_a_failure():
    import threading
    import time

    from teleglas.manual.access import OneAtATime

    serial, done, threads = OneAtATime(), [], {}
    release = threading.Event()

    def job(sender, n, fail=False):
        def run():
            if n == 0:
                release.wait(5)
            threads.setdefault(sender, set()).add(threading.get_ident())
            done.append((sender, n))
            if fail:
                raise RuntimeError("a bug in one message")

        return run

    first = threading.Thread(target=serial.run, args=("a", job("a", 0)))
    first.start()
    time.sleep(0.05)
    callers = [threading.Thread(target=serial.run, args=("a", job("a", n, fail=n == 1))) for n in (1, 2, 3)]
    for caller in callers:
        caller.start()
        caller.join(1)  # returns at once: the first thread takes the job
        assert not caller.is_alive()
    serial.run("b", job("b", 7))  # another sender is not held up by "a"
    assert done == [("b", 7)]
    release.set()
    first.join(5)
    assert done[1:] == [("a", 0), ("a", 1), ("a", 2), ("a", 3)] and len(threads["a"]) == 1
    serial.run("a", job("a", 4))  # after the queue drained, the next message runs on its caller's thread
    assert done[-1] == ("a", 4)


def test_the_first_command_over_budget_is_answered_and_later_ones_are_not():
    assert over_budget_reply(20, 20) == (False, None)
    refused, reply = over_budget_reply(21, 20)
    assert refused and reply.startswith("Easy there: at most 20 messages a minute")
    assert over_budget_reply(22, 20) == (True, None)


def test_start_is_refused_without_a_token_of_its_own():
    assert refusal_to_start(settings()) is None
    assert "TELEGRAM_TOKEN is empty" in refusal_to_start(settings(TELEGRAM_TOKEN=""))
    assert "TELEGRAM_TOKEN equals TELEGRAM_ALERT_TOKEN" in refusal_to_start(settings(TELEGRAM_TOKEN=ALERT))
    assert "not a bot token" in refusal_to_start(settings(TELEGRAM_TOKEN="no-colon"))
    assert ALERT not in refusal_to_start(settings(TELEGRAM_TOKEN=ALERT))


def test_command_menu_fits_set_my_commands():
    assert len(COMMANDS) <= 100
    for command in COMMANDS:
        assert command.name.islower() and 1 <= len(command.name) <= 32 and 1 <= len(command.description) <= 256
        assert command.usage.startswith("/" + command.name)
    assert all(f"/{c.name}" in help_text() for c in COMMANDS if c.name not in ("help", "start"))


# Every command name of the original TELEGLAS (its code and its 19-command audit report), and what it is here.
ORIGINAL_NAMES = {
    "start": "start", "help": "help", "raw": "raw", "raw_orderbook": "raw_orderbook", "liq": "liq",
    "whale": "whale", "sentiment": "sentiment", "subscribe": "subscribe", "unsubscribe": "unsubscribe",
    "alerts": "alerts", "status": "status", "alerts_status": "alerts_status", "alerts_on_w": "alerts_on_w",
    "alerts_off_w": "alerts_off_w", "oi": "oi", "funding": "funding", "rsi": "rsi", "alert_on": "alerts_on_w",
    "alert_off": "alerts_off_w", "start_alert": "subscribe", "stop_alert": "unsubscribe",
    "status_alert": "alerts_status", "settings_alert": "alerts", "help_alert": "help", "test_alert": "test_alert",
    "alerts_list": "alerts", "liquidations": "liq",
}  # fmt: skip


def test_every_original_teleglas_command_answers_here():
    assert {name: BY_NAME[name].name for name in ORIGINAL_NAMES} == ORIGINAL_NAMES
    names = [c.name for c in COMMANDS]
    aliases = [a for c in COMMANDS for a in c.aliases]
    assert len(set(names + aliases)) == len(names) + len(aliases)  # no alias shadows a command or another alias
    assert all(f"/{alias} = /{BY_NAME[alias].name}" in help_text() for alias in aliases)


def test_cards_escape_outside_strings_and_show_missing_values():
    market = CoinMarket("BTC", 96850.5, None, 0.0102, None, 1.84, None, None, 182.4e6, None)
    card = cards.raw_card(market)
    assert "Open interest: n/a (n/a 24h)" in card and "Liquidations 24h: n/a (longs $182.40M, shorts n/a)" in card
    rows = [OpenInterestRow("All", 57.8e9, {"1h": 1.2}), OpenInterestRow("<b>Ex</b>", 1e9, {})]
    assert "&lt;b&gt;Ex&lt;/b&gt;: $1.00B · 1h n/a 4h n/a 24h n/a" in cards.open_interest_card("BTC", rows)
    depth = OrderbookDepth(300.0, 100.0, 1_732_500_000_000)
    assert "Imbalance: +50.0% (heavier on bids)" in cards.orderbook_card(
        "BTC", "Binance BTCUSDT", depth, UTC, 1_732_500_000
    )
    assert "Nov 25" in cards.orderbook_card("BTC", "Binance BTCUSDT", depth, UTC, 1_732_600_000)
    assert cards.liquidations_card("BTC", [LiquidationTotals("1h", 2e6, 1e6)]).endswith(
        " 1h: $3.00M · longs $2.00M · shorts $1.00M"
    )


def test_market_records_parse_defensively():
    data = [
        {"symbol": "ETH", "current_price": 1},
        {
            "symbol": "BTC",
            "current_price": "96850.5",
            "open_interest_usd": 50e9,
            "open_interest_volume_ratio": 0.5,
            "avg_funding_rate_by_oi": "-0.01",
        },
    ]
    market = parse_coin_market(data, "BTC")
    assert (market.price, market.volume_24h_usd, market.funding_rate_pct, market.long_short_ratio_24h) == (
        96850.5,
        100e9,
        -0.01,
        None,
    )
    assert parse_coin_market(data, "SOL") is None
    totals = parse_liquidation_totals(
        [
            {"exchange": "Binance", "long_liquidation_usd": 1, "short_liquidation_usd": 2},
            {"exchange": "OKX", "long_liquidation_usd": "3", "short_liquidation_usd": 4},
        ],
        "1h",
    )
    assert (totals.long_usd, totals.short_usd) == (4, 6)  # no `All` row: the sum of the exchanges
    assert parse_fear_greed({"data_list": [40, 72], "time_list": [1732320000000, 1732406400000]}).value == 72
    assert parse_fear_greed([{"values": [12]}]).value == 12
    with pytest.raises(ValueError):
        parse_fear_greed({"data_list": [140]})
