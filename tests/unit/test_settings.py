import pytest

from teleglas.settings import DEFAULT_WS_CHANNELS, PROJECT_ROOT, SettingsError, every_variable, load_settings
from tests.support.settings import make_settings


def test_documented_defaults():
    s = make_settings()
    assert s.redis.url == s.redis.broker_url == "redis://127.0.0.1:6379/0"
    assert s.coinglass.ws_url == "wss://open-ws.coinglass.com/ws-api"
    assert s.coinglass.api_url == "https://open-api-v4.coinglass.com"
    assert s.telegram.api_url == "https://api.telegram.org"
    assert s.ws.channels == DEFAULT_WS_CHANNELS == ("liquidationOrders", "futures_trades@Binance_BTCUSDT@10000")
    assert (s.rules.liquidation_min_usd, s.rules.whale_min_usd, s.rules.enable_whale_alerts, s.rules.timezone_name) == (
        None,
        None,
        True,
        "UTC",
    )
    assert s.telegram.alert_chat_ids == () and s.secrets() == ()


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
        ALLOW_PLAINTEXT_URLS="true",
    )
    assert (s.redis.url, s.redis.broker_url) == ("redis://r:1/2", "redis://b:3/4")
    assert (s.coinglass.api_url, s.telegram.api_url) == ("http://api", "http://tg")
    assert s.telegram.alert_chat_ids == (-1001, 42, "@news")
    assert s.ws.channels == ("liquidationOrders", "futures_trades@OKX_ETHUSDT@5000")
    assert (s.rules.liquidation_min_usd, s.rules.whale_min_usd, s.rules.enable_whale_alerts) == (
        250_000,
        1_000_000,
        False,
    )
    assert set(s.secrets()) == {"wskey", "restkey", "1:alert", "2:manual"}
    assert s.timezone.key == "Asia/Jakarta"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ALERT_TIMEZONE": "Mars/Olympus"}, "ALERT_TIMEZONE"),
        ({"TELEGRAM_ALERT_CHAT_IDS": "12,not a chat"}, "TELEGRAM_ALERT_CHAT_IDS"),
        ({"LIQUIDATION_MIN_USD": "lots"}, "LIQUIDATION_MIN_USD: .lots. is not a number"),
        ({"WHALE_MIN_USD": "inf"}, "not a finite number"),
        ({"TELEGRAM_SEND_MAX_RETRIES": "many"}, "TELEGRAM_SEND_MAX_RETRIES: 'many' is not a whole number"),
        ({"WS_PING_INTERVAL": "0"}, "WS_PING_INTERVAL must be greater than 0"),
        ({"HEALTH_PORT": "70000"}, "HEALTH_PORT must be a TCP port"),
        ({"MANUAL_HEALTH_PORT": "-1"}, "MANUAL_HEALTH_PORT must be a TCP port"),
        ({"LOG_LEVEL": "INFOO"}, "LOG_LEVEL must be a logging level"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json"),
        ({"ENABLE_WHALE_ALERTS": "perhaps"}, "ENABLE_WHALE_ALERTS must be true or false"),
        ({"TASK_MAX_RETRIES": "0"}, "TASK_MAX_RETRIES must be greater than 0"),
        ({"TELEGRAM_ALLOWED_USER_IDS": "12,١٢"}, "TELEGRAM_ALLOWED_USER_IDS: .١٢. is not a numeric Telegram user id"),
        ({"MANUAL_REST_SHARE": "1"}, "MANUAL_REST_SHARE must be at least 0 and less than 1"),
        ({"MANUAL_REST_SHARE": "-0.1"}, "MANUAL_REST_SHARE must be at least 0 and less than 1"),
        ({"HEALTH_HOST": "0.0.0.0 --evil"}, "HEALTH_HOST: .* is not an address to listen on"),
    ],
)
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        make_settings(**env)


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("LIQUIDATION_MIN_USD=5000\nWHALE_MIN_USD=7000\n# comment\n")
    s = load_settings({"WHALE_MIN_USD": "9000"}, env_file=env_file)
    assert (s.rules.liquidation_min_usd, s.rules.whale_min_usd) == (5000, 9000)


def test_secrets_can_come_from_files(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("123:from-a-file")
    assert make_settings(TELEGRAM_ALERT_TOKEN_FILE=str(token_file)).telegram.alert_token == "123:from-a-file"


def test_defaults_keep_a_killed_worker_cheap_and_a_slow_send_single():
    settings = make_settings()
    assert settings.redis.visibility_timeout_s <= 60  # the cost of a worker killed at any instant
    assert 2 * settings.telegram.timeout_s < settings.redis.visibility_timeout_s
    with pytest.raises(SettingsError, match="CELERY_VISIBILITY_TIMEOUT \\(20 s\\) must exceed twice TELEGRAM_TIMEOUT"):
        make_settings(CELERY_VISIBILITY_TIMEOUT="20")
    assert make_settings(CELERY_VISIBILITY_TIMEOUT="12", TELEGRAM_TIMEOUT="5").redis.visibility_timeout_s == 12
    with pytest.raises(SettingsError, match="TELEGRAM_SEND_MAX_RETRIES"):
        make_settings(TELEGRAM_SEND_MAX_RETRIES="-1")


def test_every_setting_is_documented_in_env_example():
    documented = (PROJECT_ROOT / ".env.example").read_text()
    assert len(every_variable()) > 70
    assert sorted(name for name in every_variable() if name not in documented) == []


def test_each_setting_is_declared_once_and_its_secrets_stay_out_of_repr():
    variables = every_variable()
    assert len(variables) == len(set(variables))
    settings = make_settings(
        TELEGRAM_ALERT_TOKEN="1:alert-secret",
        COINGLASS_API_KEY="rest-secret",
        FLOWER_PASSWORD="admin-pw-secret",
        REDIS_URL="redis://:redis-pw-secret@redis:6379/0",
    )
    assert not any(
        secret in repr(settings) for secret in ("alert-secret", "rest-secret", "admin-pw-secret", "redis-pw-secret")
    )


def test_servers_listen_on_this_machine_only_unless_told_otherwise():
    settings = make_settings()
    assert settings.ops.health_host == settings.ops.dashboard_host == "127.0.0.1"
    assert make_settings(HEALTH_HOST="0.0.0.0", DASHBOARD_HOST="::").ops.dashboard_host == "::"


@pytest.mark.parametrize("variable", ["DASHBOARD_PASSWORD", "FLOWER_PASSWORD"])
def test_passwords_shorter_than_12_characters_are_refused_without_echoing_them(variable):
    with pytest.raises(SettingsError, match=f"{variable} must be at least 12 characters long, got 11") as refused:
        make_settings(**{variable: "shortsecret"})
    assert "shortsecret" not in str(refused.value)
    assert getattr(make_settings(**{variable: "twelve-chars"}).ops, variable.lower()) == "twelve-chars"


def test_the_dashboard_password_cannot_be_the_flower_password():
    with pytest.raises(SettingsError, match="DASHBOARD_PASSWORD equals FLOWER_PASSWORD") as refused:
        make_settings(DASHBOARD_PASSWORD="one-password-for-all", FLOWER_PASSWORD="one-password-for-all")
    assert "one-password-for-all" not in str(refused.value)


@pytest.mark.parametrize(
    "variable, url",
    [
        ("COINGLASS_WS_URL", "ws://coinglass-emulator:8765/ws-api"),
        ("COINGLASS_API_URL", "http://open-api-v4.coinglass.com"),
        ("TELEGRAM_API_URL", "http://10.0.0.7:8090"),
        ("TELEGRAM_API_URL", "http://localhost.example.com"),
    ],
)
def test_keys_never_travel_in_clear_to_another_host(variable, url):
    with pytest.raises(SettingsError, match=f"{variable} sends the key in clear"):
        make_settings(**{variable: url})
    assert make_settings(**{variable: url, "ALLOW_PLAINTEXT_URLS": "true"})  # an explicit choice


@pytest.mark.parametrize(
    "variable, url",
    [
        ("COINGLASS_WS_URL", "ws://127.0.0.1:8765/ws-api"),
        ("COINGLASS_API_URL", "http://localhost:8765"),
        ("TELEGRAM_API_URL", "http://[::1]:8090"),
        ("TELEGRAM_API_URL", "https://telegram-proxy.internal"),
    ],
)
def test_tls_or_this_machine_is_fine(variable, url):
    assert make_settings(**{variable: url})


def test_a_url_without_its_scheme_is_refused_even_when_plaintext_is_allowed():
    with pytest.raises(SettingsError, match="COINGLASS_WS_URL must be a wss:// URL, got scheme 'https'"):
        make_settings(COINGLASS_WS_URL="https://open-ws.coinglass.com/ws-api", ALLOW_PLAINTEXT_URLS="true")


def test_the_redis_password_is_a_secret_and_out_of_repr():
    settings = make_settings(
        REDIS_URL="redis://:p%40ss-redis-secret@redis:6379/0",
        CELERY_BROKER_URL="redis://teleglas:broker-secret@redis:6379/1",
        TELEGRAM_TOKEN="2:manual-secret",
        DASHBOARD_PASSWORD="dashboard-secret",
        FLOWER_PASSWORD="admin-secret-pw",
    )
    assert set(settings.secrets()) == {
        "p%40ss-redis-secret",
        "p@ss-redis-secret",  # redis-py and kombu decode it: masked as written and as sent
        "broker-secret",
        "2:manual-secret",
        "dashboard-secret",
        "admin-secret-pw",
    }
    shown = repr(settings)
    assert not any(part in shown for part in ("redis-secret", "broker-secret", "manual-secret", "-secret"))
    assert "health_host='127.0.0.1'" in shown  # the rest is still there to read
    assert make_settings(REDIS_URL="redis://redis:6379/0").secrets() == ()


@pytest.mark.parametrize("variable", ["REDIS_URL", "CELERY_BROKER_URL"])
@pytest.mark.parametrize("value", ["nonsense", "http://:pw-secret@redis:6379/0", "127.0.0.1:6379"])
def test_a_redis_url_in_another_scheme_is_refused_without_echoing_it(variable, value):
    with pytest.raises(SettingsError, match=f"{variable} must start with redis://, rediss:// or unix://") as refused:
        make_settings(**{variable: value})
    assert value not in str(refused.value)


@pytest.mark.parametrize("value", ["redis://redis:6379/0", "rediss://:pw@cache.example:6380/1", "unix:///run/r.sock"])
def test_redis_urls_in_each_scheme_are_taken(value):
    assert make_settings(REDIS_URL=value).redis.url == value
