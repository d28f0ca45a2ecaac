"""Rules: the bundled defaults, most-specific-wins overrides, the Settings floor, and errors that name the line."""

import pytest

from teleglas.decide.rules import RulesError, load_rules, parse_rules, rules_from_settings
from teleglas.model.events import FuturesTrade, LiquidationOrder
from tests.support.settings import make_settings


def liq(usd, symbol="BTCUSDT", base="BTC", exchange="Binance"):
    return LiquidationOrder(exchange, symbol, base, 50_000.0, 1, usd, 1725478245120)


def trade(usd, symbol="BTCUSDT", base="BTC", exchange="Binance"):
    return FuturesTrade(exchange, symbol, base, 50_000.0, 2, usd, 1725478245120)


def test_bundled_groups_have_the_documented_thresholds_and_cooldowns():
    rules = load_rules()
    btc, doge, pepe = (
        rules.rule_for(s, b, "Binance") for s, b in (("BTCUSDT", "BTC"), ("DOGEUSDT", "DOGE"), ("PEPEUSDT", "PEPE"))
    )
    assert (btc.group, btc.liquidation_min_usd, btc.whale_min_usd, btc.cooldown_s) == (
        "majors",
        500_000,
        1_000_000,
        300,
    )
    assert (doge.group, doge.liquidation_min_usd, doge.whale_min_usd, doge.cooldown_s) == (
        "large_caps",
        200_000,
        500_000,
        450,
    )
    assert (pepe.group, pepe.liquidation_min_usd, pepe.whale_min_usd, pepe.cooldown_s) == (
        "default",
        100_000,
        200_000,
        600,
    )
    assert (rules.storm.window_s, rules.storm.min_count, rules.storm.min_usd) == (60, 10, 5_000_000)
    assert btc.admits(liq(500_000), True) and not btc.admits(liq(499_999), True)
    pepe_trade = trade(200_000, "PEPEUSDT", "PEPE")
    assert pepe.admits(pepe_trade, True) and not pepe.admits(pepe_trade, False)


RULES = """
[default]
liquidation_min_usd = 100_000
whale_min_usd = 200_000
cooldown_s = 600

[groups.majors]
symbols = ["BTC", "ETHUSDT"]
liquidation_min_usd = 500_000
cooldown_s = 300

[exchanges.OKX]
liquidation_min_usd = 700_000

[symbols.BTCUSDT]
whale_min_usd = 3_000_000

[symbols."BTCUSDT@Binance"]
liquidation_min_usd = 1_000_000
"""


def test_most_specific_entry_wins_field_by_field():
    rules = parse_rules(RULES)
    binance = rules.rule_for("BTCUSDT", "BTC", "Binance")
    assert (binance.liquidation_min_usd, binance.whale_min_usd, binance.cooldown_s, binance.group) == (
        1_000_000,
        3_000_000,
        300,
        "majors",
    )
    okx = rules.rule_for("BTCUSDT", "BTC", "OKX")
    assert (okx.liquidation_min_usd, okx.whale_min_usd) == (700_000, 3_000_000)
    eth = rules.rule_for("ETHUSDT", "ETH", "bybit")  # groups match the pair too
    assert (eth.group, eth.liquidation_min_usd, eth.whale_min_usd) == ("majors", 500_000, 200_000)
    assert rules.rule_for("btcusdt", "btc", "binance").liquidation_min_usd == 1_000_000  # case does not matter


def test_settings_replace_the_default_group_thresholds_only():
    rules = rules_from_settings(make_settings(LIQUIDATION_MIN_USD="50000").rules)
    assert rules.rule_for("PEPEUSDT", "PEPE", "Binance").liquidation_min_usd == 50_000
    assert rules.rule_for("PEPEUSDT", "PEPE", "Binance").whale_min_usd == 200_000
    assert rules.rule_for("BTCUSDT", "BTC", "Binance").liquidation_min_usd == 500_000


@pytest.mark.parametrize(
    "text, message",
    [
        ("[default]\nliquidation_min_usd = 1\nwhale_min_usd = 2\n", "line 1: [default] lacks cooldown_s"),
        (RULES.replace("cooldown_s = 300", 'cooldown_s = "soon"'), "line 10: cooldown_s must be a number, got 'soon'"),
        (RULES.replace("whale_min_usd = 3_000_000", "whale_min_usd = -3"), "line 16: whale_min_usd cannot be negative"),
        (
            RULES.replace("[exchanges.OKX]\nliquidation_min_usd", "[exchanges.OKX]\nliquidation_usd"),
            "line 13: unknown key 'liquidation_usd'",
        ),
        (RULES.replace('symbols = ["BTC", "ETHUSDT"]', "symbols = []"), "line 8: `symbols` must be a non-empty list"),
        (RULES + '\n[groups.more]\nsymbols = ["btc"]\n', "line 22: BTC is already in group majors"),
        (RULES + "\n[alerts]\nx = 1\n", "line 21: unknown section [alerts]"),
        (RULES + "\n[storm]\nwindow_s = 0\n", "line 21: [storm] needs window_s > 0 and min_count >= 2"),
        (RULES + "\n[whale_cluster]\nquiet_gaps = -1\n", "line 22: quiet_gaps cannot be negative, got -1"),
        ("[default\nliquidation_min_usd = 1", "(at line 1, column 9)"),
    ],
)
def test_a_bad_rules_file_is_an_error_naming_its_line(text, message):
    with pytest.raises(RulesError) as error:
        parse_rules(text, "rules.toml")
    assert str(error.value).startswith("rules.toml: ") and message in str(error.value)


def test_a_missing_rules_file_is_a_clear_error(tmp_path):
    with pytest.raises(RulesError, match="cannot read the rules file"):
        rules_from_settings(make_settings(ALERT_RULES_FILE=str(tmp_path / "nope.toml")).rules)
