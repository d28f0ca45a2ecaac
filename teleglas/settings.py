"""The one Settings object: read once from the environment (and an optional .env) with django-environ.

Secrets may also come from files (`TELEGRAM_ALERT_TOKEN_FILE=/run/secrets/...`), the usual way with
Docker and systemd credentials; django-environ's FileAwareEnv does that.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ

from teleglas.defines import CHANNEL_FUTURES_TRADES, CHANNEL_LIQUIDATIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "decide" / "default_rules.toml"
DEFAULT_WS_CHANNELS = (CHANNEL_LIQUIDATIONS, f"{CHANNEL_FUTURES_TRADES}@Binance_BTCUSDT@10000")
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable, never its secret value."""


ChatId = int | str


@dataclass(frozen=True)
class Settings:
    redis_url: str
    celery_broker_url: str
    coinglass_ws_url: str
    coinglass_api_key_ws: str
    coinglass_api_url: str
    coinglass_api_key: str
    telegram_api_url: str
    telegram_alert_token: str
    telegram_alert_chat_ids: tuple[ChatId, ...]
    telegram_token: str
    telegram_allowed_user_ids: frozenset[int]
    manual_market_data_public: bool
    manual_commands_per_minute: int
    manual_health_port: int
    manual_poll_timeout_s: int
    ws_channels: tuple[str, ...]
    liquidation_min_usd: float | None  # None: the rules file's [default] decides
    whale_min_usd: float | None
    alert_rules_file: Path
    whale_score_window_s: float
    digest_group_wait_s: float
    digest_group_interval_s: float
    enable_whale_alerts: bool
    alert_timezone: str
    event_dedupe_ttl_s: int
    delivery_record_ttl_s: int
    ws_ping_interval_s: float
    ws_pong_timeout_s: float
    ws_connect_timeout_s: float
    ws_reconnect_delay_s: float
    ws_reconnect_max_delay_s: float
    ws_healthy_reset_s: float
    ws_close_timeout_s: float
    ws_max_message_bytes: int
    listener_buffer_max_events: int
    listener_buffer_max_bytes: int
    listener_status_ttl_s: int
    listener_batch_max_events: int
    telegram_timeout_s: float
    send_max_retries: int
    telegram_bot_per_s: float
    telegram_chat_interval_s: float
    telegram_group_per_min: float
    telegram_rate_margin_s: float
    telegram_max_inline_wait_s: float
    celery_visibility_timeout_s: int
    task_max_retries: int
    alert_max_age_s: float
    chat_recheck_interval_s: float
    deadletter_ttl_s: int
    deadletter_max: int
    coinglass_requests_per_minute: int
    coinglass_timeout_s: float
    whale_poll_interval_s: float
    whale_poll_lookback_s: float
    listener_stale_after_s: float
    funding_check_interval_s: float
    funding_rate_threshold_pct: float
    funding_cooldown_s: float
    funding_symbols: tuple[str, ...]
    oi_check_interval_s: float
    oi_symbols: tuple[str, ...]
    oi_change_threshold_pct: float
    oi_window_s: float
    oi_cooldown_s: float
    startup_quiet_s: int
    health_port: int
    monitor_user: str
    monitor_password: str
    log_format: str
    dashboard_port: int
    alert_history_ttl_s: int
    alert_history_max: int
    price_move_exchange: str
    price_move_interval_s: float
    worker_heartbeat_interval_s: float
    worker_heartbeat_stale_s: float
    log_level: str

    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log line, an exception text or a metric."""
        values = (
            self.coinglass_api_key_ws,
            self.coinglass_api_key,
            self.telegram_alert_token,
            self.telegram_token,
            self.monitor_password,
        )
        return tuple(v for v in values if v)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.alert_timezone)


def _parse_chat_ids(raw: list[str]) -> tuple[ChatId, ...]:
    chats: list[ChatId] = []
    for item in (s.strip() for s in raw):
        if not item:
            continue
        if not _CHAT_ID.match(item):
            raise SettingsError(f"TELEGRAM_ALERT_CHAT_IDS: {item!r} is neither a numeric chat id nor an @channel name")
        chats.append(item if item.startswith("@") else int(item))
    return tuple(dict.fromkeys(chats))


def _parse_user_ids(raw: list[str]) -> frozenset[int]:
    ids = set()
    for item in (s.strip() for s in raw):
        if not item:
            continue
        if not item.isdigit():
            raise SettingsError(f"TELEGRAM_ALLOWED_USER_IDS: {item!r} is not a numeric Telegram user id")
        ids.add(int(item))
    return frozenset(ids)


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _positive(name: str, value: float) -> float:
    if not value > 0:
        raise SettingsError(f"{name} must be greater than 0, got {value}")
    return value


def _float(env: environ.Env, name: str, default: float) -> float:
    """django-environ's float() strips characters it does not expect ("1e6" becomes 16.0); Python's does not."""
    raw = env.str(name, default="")
    if not raw.strip():
        return default
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(f"{name}: {raw!r} is not a finite number")
    return value


def _optional_float(env: environ.Env, name: str) -> float | None:
    """Unset or empty means "not configured here"."""
    if not env.str(name, default="").strip():
        return None
    value = _float(env, name, 0.0)
    if value < 0:
        raise SettingsError(f"{name} cannot be negative, got {value:g}")
    return value


def load_settings(environment: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Build Settings from `environment` (default: the process environment) plus `env_file` (default: ./.env).

    Variables already in the environment win over the file, as with any dotenv loader.
    """
    values = dict(os.environ if environment is None else environment)
    env_file = env_file if env_file is not None else Path(values.get("TELEGLAS_ENV_FILE", PROJECT_ROOT / ".env"))
    if env_file.is_file():
        reader = type("_DotEnv", (environ.Env,), {"ENVIRON": values})
        reader.read_env(env_file)
    env = type("_Env", (environ.FileAwareEnv,), {"ENVIRON": environ.FileAwareMapping(env=values)})()

    redis_url = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
    timezone = env.str("ALERT_TIMEZONE", default="UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"ALERT_TIMEZONE: unknown time zone {timezone!r} (e.g. UTC, Asia/Jakarta)") from None
    channels = tuple(c.strip() for c in env.list("WS_CHANNELS", default=list(DEFAULT_WS_CHANNELS)) if c.strip())
    try:
        settings = Settings(
            redis_url=redis_url,
            celery_broker_url=env.str("CELERY_BROKER_URL", default=redis_url),
            coinglass_ws_url=env.str("COINGLASS_WS_URL", default="wss://open-ws.coinglass.com/ws-api"),
            coinglass_api_key_ws=env.str("COINGLASS_API_KEY_WS", default=""),
            coinglass_api_url=env.str("COINGLASS_API_URL", default="https://open-api-v4.coinglass.com").rstrip("/"),
            coinglass_api_key=env.str("COINGLASS_API_KEY", default=""),
            telegram_api_url=env.str("TELEGRAM_API_URL", default="https://api.telegram.org").rstrip("/"),
            telegram_alert_token=env.str("TELEGRAM_ALERT_TOKEN", default=""),
            telegram_alert_chat_ids=_parse_chat_ids(env.list("TELEGRAM_ALERT_CHAT_IDS", default=[])),
            telegram_token=env.str("TELEGRAM_TOKEN", default=""),
            telegram_allowed_user_ids=_parse_user_ids(env.list("TELEGRAM_ALLOWED_USER_IDS", default=[])),
            manual_market_data_public=env.bool("MANUAL_MARKET_DATA_PUBLIC", default=True),
            manual_commands_per_minute=int(
                _positive("MANUAL_COMMANDS_PER_MINUTE", env.int("MANUAL_COMMANDS_PER_MINUTE", default=20))
            ),
            manual_health_port=env.int("MANUAL_HEALTH_PORT", default=8080),
            manual_poll_timeout_s=int(_positive("MANUAL_POLL_TIMEOUT", env.int("MANUAL_POLL_TIMEOUT", default=20))),
            ws_channels=channels,
            liquidation_min_usd=_optional_float(env, "LIQUIDATION_MIN_USD"),
            whale_min_usd=_optional_float(env, "WHALE_MIN_USD"),
            alert_rules_file=Path(env.str("ALERT_RULES_FILE", default="") or DEFAULT_RULES_PATH),
            whale_score_window_s=_positive("WHALE_SCORE_WINDOW", _float(env, "WHALE_SCORE_WINDOW", 300.0)),
            digest_group_wait_s=_positive("DIGEST_GROUP_WAIT", _float(env, "DIGEST_GROUP_WAIT", 2.0)),
            digest_group_interval_s=_positive("DIGEST_GROUP_INTERVAL", _float(env, "DIGEST_GROUP_INTERVAL", 10.0)),
            enable_whale_alerts=env.bool("ENABLE_WHALE_ALERTS", default=True),
            alert_timezone=timezone,
            event_dedupe_ttl_s=int(_positive("EVENT_DEDUPE_TTL", env.int("EVENT_DEDUPE_TTL", default=86_400))),
            delivery_record_ttl_s=int(
                _positive("DELIVERY_RECORD_TTL", env.int("DELIVERY_RECORD_TTL", default=7 * 86_400))
            ),
            ws_ping_interval_s=_positive("WS_PING_INTERVAL", _float(env, "WS_PING_INTERVAL", 20.0)),
            ws_pong_timeout_s=_positive("WS_PONG_TIMEOUT", _float(env, "WS_PONG_TIMEOUT", 10.0)),
            ws_connect_timeout_s=_positive("WS_CONNECT_TIMEOUT", _float(env, "WS_CONNECT_TIMEOUT", 30.0)),
            ws_reconnect_delay_s=_positive("WS_RECONNECT_DELAY", _float(env, "WS_RECONNECT_DELAY", 2.0)),
            ws_reconnect_max_delay_s=_positive("WS_RECONNECT_MAX_DELAY", _float(env, "WS_RECONNECT_MAX_DELAY", 60.0)),
            ws_healthy_reset_s=_positive("WS_HEALTHY_RESET", _float(env, "WS_HEALTHY_RESET", 60.0)),
            ws_close_timeout_s=_positive("WS_CLOSE_TIMEOUT", _float(env, "WS_CLOSE_TIMEOUT", 10.0)),
            listener_buffer_max_events=int(
                _positive("LISTENER_BUFFER_MAX_EVENTS", env.int("LISTENER_BUFFER_MAX_EVENTS", default=100_000))
            ),
            listener_buffer_max_bytes=int(
                _positive("LISTENER_BUFFER_MAX_BYTES", env.int("LISTENER_BUFFER_MAX_BYTES", default=64 * 1024 * 1024))
            ),
            listener_batch_max_events=int(
                _positive("LISTENER_BATCH_MAX_EVENTS", env.int("LISTENER_BATCH_MAX_EVENTS", default=500))
            ),
            listener_status_ttl_s=int(_positive("LISTENER_STATUS_TTL", env.int("LISTENER_STATUS_TTL", default=5))),
            ws_max_message_bytes=int(
                _positive("WS_MAX_MESSAGE_BYTES", env.int("WS_MAX_MESSAGE_BYTES", default=10 * 1024 * 1024))
            ),
            telegram_timeout_s=_positive("TELEGRAM_TIMEOUT", _float(env, "TELEGRAM_TIMEOUT", 10.0)),
            send_max_retries=env.int("TELEGRAM_SEND_MAX_RETRIES", default=5),
            telegram_bot_per_s=_positive("TELEGRAM_BOT_PER_SECOND", _float(env, "TELEGRAM_BOT_PER_SECOND", 25.0)),
            telegram_chat_interval_s=_positive("TELEGRAM_CHAT_INTERVAL", _float(env, "TELEGRAM_CHAT_INTERVAL", 1.0)),
            telegram_group_per_min=_positive(
                "TELEGRAM_GROUP_PER_MINUTE", _float(env, "TELEGRAM_GROUP_PER_MINUTE", 20.0)
            ),
            telegram_rate_margin_s=_float(env, "TELEGRAM_RATE_MARGIN", 0.1),
            telegram_max_inline_wait_s=_float(env, "TELEGRAM_MAX_INLINE_WAIT", 0.5),
            celery_visibility_timeout_s=int(
                _positive("CELERY_VISIBILITY_TIMEOUT", env.int("CELERY_VISIBILITY_TIMEOUT", default=30))
            ),
            task_max_retries=int(_positive("TASK_MAX_RETRIES", env.int("TASK_MAX_RETRIES", default=8))),
            alert_max_age_s=_positive("ALERT_MAX_AGE", _float(env, "ALERT_MAX_AGE", 180.0)),
            chat_recheck_interval_s=_positive("CHAT_RECHECK_INTERVAL", _float(env, "CHAT_RECHECK_INTERVAL", 600.0)),
            deadletter_ttl_s=int(_positive("DEADLETTER_TTL", env.int("DEADLETTER_TTL", default=14 * 86_400))),
            deadletter_max=int(_positive("DEADLETTER_MAX", env.int("DEADLETTER_MAX", default=10_000))),
            coinglass_requests_per_minute=int(
                _positive("COINGLASS_REQUESTS_PER_MINUTE", env.int("COINGLASS_REQUESTS_PER_MINUTE", default=30))
            ),
            coinglass_timeout_s=_positive("COINGLASS_TIMEOUT", _float(env, "COINGLASS_TIMEOUT", 10.0)),
            whale_poll_interval_s=_positive("WHALE_POLL_INTERVAL", _float(env, "WHALE_POLL_INTERVAL", 15.0)),
            whale_poll_lookback_s=_positive("WHALE_POLL_LOOKBACK", _float(env, "WHALE_POLL_LOOKBACK", 600.0)),
            listener_stale_after_s=_positive("LISTENER_STALE_AFTER", _float(env, "LISTENER_STALE_AFTER", 30.0)),
            funding_check_interval_s=_positive("FUNDING_CHECK_INTERVAL", _float(env, "FUNDING_CHECK_INTERVAL", 60.0)),
            funding_rate_threshold_pct=_positive("FUNDING_RATE_THRESHOLD", _float(env, "FUNDING_RATE_THRESHOLD", 0.1)),
            funding_cooldown_s=_positive("FUNDING_COOLDOWN", _float(env, "FUNDING_COOLDOWN", 4 * 3600.0)),
            funding_symbols=tuple(s.strip().upper() for s in env.list("FUNDING_SYMBOLS", default=[]) if s.strip()),
            oi_check_interval_s=_positive("OI_CHECK_INTERVAL", _float(env, "OI_CHECK_INTERVAL", 60.0)),
            oi_symbols=tuple(
                s.strip().upper() for s in env.list("OI_SYMBOLS", default=["BTC", "ETH", "SOL"]) if s.strip()
            ),
            oi_change_threshold_pct=_positive("OI_CHANGE_THRESHOLD", _float(env, "OI_CHANGE_THRESHOLD", 5.0)),
            oi_window_s=_positive("OI_WINDOW", _float(env, "OI_WINDOW", 900.0)),
            oi_cooldown_s=_positive("OI_COOLDOWN", _float(env, "OI_COOLDOWN", 1800.0)),
            startup_quiet_s=int(_positive("STARTUP_QUIET", env.int("STARTUP_QUIET", default=60))),
            health_port=env.int("HEALTH_PORT", default=8081),
            monitor_user=env.str("MONITOR_USER", default=""),
            monitor_password=env.str("MONITOR_PASSWORD", default=""),
            dashboard_port=env.int("DASHBOARD_PORT", default=8082),
            alert_history_ttl_s=int(_positive("ALERT_HISTORY_TTL", env.int("ALERT_HISTORY_TTL", default=7 * 86_400))),
            alert_history_max=int(_positive("ALERT_HISTORY_MAX", env.int("ALERT_HISTORY_MAX", default=50_000))),
            price_move_exchange=env.str("PRICE_MOVE_EXCHANGE", default="Binance"),
            price_move_interval_s=_positive("PRICE_MOVE_INTERVAL", _float(env, "PRICE_MOVE_INTERVAL", 60.0)),
            log_format=_choice("LOG_FORMAT", env.str("LOG_FORMAT", default="text").lower(), ("text", "json")),
            worker_heartbeat_interval_s=_positive(
                "WORKER_HEARTBEAT_INTERVAL", _float(env, "WORKER_HEARTBEAT_INTERVAL", 5.0)
            ),
            worker_heartbeat_stale_s=_positive("WORKER_HEARTBEAT_STALE", _float(env, "WORKER_HEARTBEAT_STALE", 30.0)),
            log_level=env.str("LOG_LEVEL", default="INFO").upper(),
        )
    except environ.ImproperlyConfigured as exc:
        raise SettingsError(str(exc)) from None
    except ValueError as exc:
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(f"a numeric or boolean setting could not be read: {exc}") from None
    _check_delivery_timing(settings)
    return settings


def _check_delivery_timing(settings: Settings) -> None:
    """The broker hands a task that is still unacknowledged after the visibility timeout to another worker. No
    task waits (delays are due work in Redis), but a send can take the connect and the read timeout: the
    timeout must outlast that, or a slow send would routinely run twice (harmless, the lease stops the
    copy, but wasted)."""
    if 2 * settings.telegram_timeout_s >= settings.celery_visibility_timeout_s:
        raise SettingsError(
            f"CELERY_VISIBILITY_TIMEOUT ({settings.celery_visibility_timeout_s} s) must exceed twice TELEGRAM_TIMEOUT "
            f"({settings.telegram_timeout_s:g} s: a send's connect and read timeouts)"
        )
    if settings.send_max_retries < 0:
        raise SettingsError(f"TELEGRAM_SEND_MAX_RETRIES cannot be negative, got {settings.send_max_retries}")
    if settings.telegram_rate_margin_s < 0 or settings.telegram_max_inline_wait_s < 0:
        raise SettingsError("TELEGRAM_RATE_MARGIN and TELEGRAM_MAX_INLINE_WAIT cannot be negative")


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read on first use."""
    return load_settings()
