import re

import pytest

from teleglas.settings import DEFAULT_WS_CHANNELS, PROJECT_ROOT, SettingsError, load_settings
from tests.conftest import make_settings


def test_documented_defaults():
    s = make_settings()
    assert s.redis_url == s.celery_broker_url == "redis://127.0.0.1:6379/0"
    assert s.coinglass_ws_url == "wss://open-ws.coinglass.com/ws-api"
    assert s.coinglass_api_url == "https://open-api-v4.coinglass.com"
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.ws_channels == DEFAULT_WS_CHANNELS == ("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000")
    assert (s.liquidation_min_usd, s.whale_min_usd, s.enable_whale_alerts, s.alert_timezone) == (
        None,
        None,
        True,
        "UTC",
    )
    assert s.telegram_alert_chat_ids == () and s.secrets() == ()


def test_contract_names_are_read():
    s = make_settings(
        REDIS_URL="redis://r:1/2",
        CELERY_BROKER_URL="redis://b:3/4",
        COINGLASS_WS_URL="ws://x/ws-api",
        COINGLASS_API_KEY_WS="wskey",
        COINGLASS_API_URL="http://api/",
        COINGLASS_API_KEY="restkey",
        TELEGRAM_API_URL="http://tg/",
        TELEGRAM_ALERT_TOKEN="1:alert",
        TELEGRAM_ALERT_CHAT_IDS="-1001, 42,@news,42",
        TELEGRAM_TOKEN="2:manual",
        WS_CHANNELS="liquidationOrders, futures_trades@OKX_ETHUSDT@5000",
        LIQUIDATION_MIN_USD="250000",
        WHALE_MIN_USD="1e6",
        ENABLE_WHALE_ALERTS="no",
        ALERT_TIMEZONE="Asia/Jakarta",
    )
    assert (s.redis_url, s.celery_broker_url) == ("redis://r:1/2", "redis://b:3/4")
    assert (s.coinglass_api_url, s.telegram_api_url) == ("http://api", "http://tg")
    assert s.telegram_alert_chat_ids == (-1001, 42, "@news")
    assert s.ws_channels == ("liquidationOrders", "futures_trades@OKX_ETHUSDT@5000")
    assert (s.liquidation_min_usd, s.whale_min_usd, s.enable_whale_alerts) == (250_000, 1_000_000, False)
    assert set(s.secrets()) == {"wskey", "restkey", "1:alert", "2:manual"}
    assert s.timezone.key == "Asia/Jakarta"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ALERT_TIMEZONE": "Mars/Olympus"}, "ALERT_TIMEZONE"),
        ({"TELEGRAM_ALERT_CHAT_IDS": "12,not a chat"}, "TELEGRAM_ALERT_CHAT_IDS"),
        ({"LIQUIDATION_MIN_USD": "lots"}, "LIQUIDATION_MIN_USD: .lots. is not a number"),
        ({"WHALE_MIN_USD": "inf"}, "not a finite number"),
        ({"TELEGRAM_SEND_MAX_RETRIES": "many"}, "could not be read"),
        ({"WS_PING_INTERVAL": "0"}, "WS_PING_INTERVAL must be greater than 0"),
    ],
)
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        make_settings(**env)


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("LIQUIDATION_MIN_USD=5000\nWHALE_MIN_USD=7000\n# comment\n")
    s = load_settings({"WHALE_MIN_USD": "9000"}, env_file=env_file)
    assert (s.liquidation_min_usd, s.whale_min_usd) == (5000, 9000)


def test_secrets_can_come_from_files(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("123:from-a-file")
    assert make_settings(TELEGRAM_ALERT_TOKEN_FILE=str(token_file)).telegram_alert_token == "123:from-a-file"


def test_defaults_keep_a_killed_worker_cheap_and_a_slow_send_single():
    settings = make_settings()
    assert settings.celery_visibility_timeout_s <= 60  # the cost of a worker killed at any instant
    assert 2 * settings.telegram_timeout_s < settings.celery_visibility_timeout_s
    with pytest.raises(SettingsError, match="CELERY_VISIBILITY_TIMEOUT \\(20 s\\) must exceed twice TELEGRAM_TIMEOUT"):
        make_settings(CELERY_VISIBILITY_TIMEOUT="20")
    assert make_settings(CELERY_VISIBILITY_TIMEOUT="12", TELEGRAM_TIMEOUT="5").celery_visibility_timeout_s == 12
    with pytest.raises(SettingsError, match="TELEGRAM_SEND_MAX_RETRIES"):
        make_settings(TELEGRAM_SEND_MAX_RETRIES="-1")


def test_every_setting_is_documented_in_env_example():
    source = (PROJECT_ROOT / "teleglas" / "settings.py").read_text()
    names = set(re.findall(r'(?:env\.\w+|_float|_optional_float)\((?:env, )?"([A-Z][A-Z0-9_]+)"', source))
    documented = (PROJECT_ROOT / ".env.example").read_text()
    assert len(names) > 40
    assert sorted(name for name in names if name not in documented) == []
