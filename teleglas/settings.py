"""The one Settings object: read once from the environment (and an optional .env) with django-environ.

Each setting is declared once, as a field of its group with its environment name, how its text is read and
checked, and its default (`setting(...)`); `load_settings` reads every group from those declarations. A value
that cannot be used stops the process with a SettingsError naming the variable, never its value.

Secrets may also come from files (`TELEGRAM_ALERT_TOKEN_FILE=/run/secrets/...`), the usual way with Docker and
systemd credentials; django-environ's FileAwareEnv does that.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ

from teleglas.defines import ALL_SOURCES, CHANNEL_FUTURES_TRADES, CHANNEL_LIQUIDATIONS, SOURCE_COINGLASS
from teleglas.model.chat import ChatId

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WS_CHANNELS = (CHANNEL_LIQUIDATIONS, f"{CHANNEL_FUTURES_TRADES}@Binance_BTCUSDT@10000")
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable, never its secret value."""


Parse = Callable[[str, str], Any]  # (variable name, its text) → the value, or SettingsError


def setting(env: str, parse: Parse, default: Any, *, secret: bool | Callable[[str], tuple[str, ...]] = False) -> Any:
    """A field read from `env` with `parse`; unset or empty gives `default`. A secret stays out of repr();
    `secret` is True when the whole value is one, or a function giving the secret parts of a value that carries
    some (the password in a Redis URL)."""
    return field(default=default, repr=not secret, metadata={"env": env, "parse": parse, "secret": secret})


def url_password(value: str) -> tuple[str, ...]:
    """The password in `redis://user:password@host` as written and as decoded (redis-py and kombu decode it)."""
    try:
        written = urllib.parse.urlsplit(value).password or ""
    except ValueError:
        return ()
    return tuple(dict.fromkeys(p for p in (written, urllib.parse.unquote(written)) if p))


# -- how a setting's text is read --------------------------------------------------------------------------


def text(_name: str, raw: str) -> str:
    return raw.strip()


def url(_name: str, raw: str) -> str:
    return raw.strip().rstrip("/")


REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_url(name: str, raw: str) -> str:
    """A Redis URL in a scheme redis-py and kombu take; the value is not echoed (it may carry the password)."""
    value = raw.strip()
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme not in REDIS_SCHEMES:
        raise SettingsError(f"{name} must start with redis://, rediss:// or unix://")
    return value


def _number(name: str, raw: str) -> float:
    """Python's float, not django-environ's, which strips characters it does not expect ("1e6" becomes 16.0)."""
    try:
        value = float(raw.strip().replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SettingsError(f"{name}: {raw!r} is not a finite number")
    return value


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw.strip().replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a whole number") from None


def positive(name: str, raw: str) -> float:
    value = _number(name, raw)
    if not value > 0:
        raise SettingsError(f"{name} must be greater than 0, got {value:g}")
    return value


def not_negative(name: str, raw: str) -> float:
    value = _number(name, raw)
    if value < 0:
        raise SettingsError(f"{name} cannot be negative, got {value:g}")
    return value


def optional_amount(name: str, raw: str) -> float | None:
    """Unset or empty means "not configured here" (the field's default is None)."""
    return not_negative(name, raw)


def positive_int(name: str, raw: str) -> int:
    value = _integer(name, raw)
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, got {value}")
    return value


def count(name: str, raw: str) -> int:
    value = _integer(name, raw)
    if value < 0:
        raise SettingsError(f"{name} cannot be negative, got {value}")
    return value


def port(name: str, raw: str) -> int:
    """0 turns the listener off; otherwise a TCP port."""
    value = _integer(name, raw)
    if not 0 <= value <= 65_535:
        raise SettingsError(f"{name} must be a TCP port (1-65535, or 0 for none), got {value}")
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on", "y", "t"}, {"0", "false", "no", "off", "n", "f"}


def boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return value in _TRUE


def _items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def chat_ids(name: str, raw: str) -> tuple[ChatId, ...]:
    chats: list[ChatId] = []
    for item in _items(raw):
        if not _CHAT_ID.match(item):
            raise SettingsError(f"{name}: {item!r} is neither a numeric chat id nor an @channel name")
        chats.append(item if item.startswith("@") else int(item))
    return tuple(dict.fromkeys(chats))


def user_ids(name: str, raw: str) -> frozenset[int]:
    ids = set()
    for item in _items(raw):
        if not (item.isascii() and item.isdigit()):
            raise SettingsError(f"{name}: {item!r} is not a numeric Telegram user id")
        ids.add(int(item))
    return frozenset(ids)


def names(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(_items(raw))


def upper_names(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.upper() for item in _items(raw))


def sources(name: str, raw: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(item.lower() for item in _items(raw)))
    unknown = [item for item in chosen if item not in ALL_SOURCES]
    if unknown:
        raise SettingsError(f"{name}: unknown source {unknown[0]!r} (choose from {', '.join(ALL_SOURCES)})")
    return chosen


def one_of(*choices: str) -> Parse:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def time_zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name}: unknown time zone {raw!r} (e.g. UTC, Asia/Jakarta)") from None
    return raw.strip()


def log_level(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in logging.getLevelNamesMapping():
        raise SettingsError(f"{name} must be a logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL), got {raw!r}")
    return value


def file_path(_name: str, raw: str) -> Path | None:
    return Path(raw.strip())


MIN_PASSWORD_LENGTH = 12


def password(name: str, raw: str) -> str:
    value = raw.strip()
    if len(value) < MIN_PASSWORD_LENGTH:
        raise SettingsError(f"{name} must be at least {MIN_PASSWORD_LENGTH} characters long, got {len(value)}")
    return value


def host(name: str, raw: str) -> str:
    """An address to listen on: an IP address (0.0.0.0 for every interface) or a host name."""
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", value):
        raise SettingsError(f"{name}: {raw!r} is not an address to listen on (e.g. 127.0.0.1, 0.0.0.0)")
    return value


def share(name: str, raw: str) -> float:
    """A fraction from 0 up to, not including, 1 (what it takes from, the rest always keeps something)."""
    value = _number(name, raw)
    if not 0 <= value < 1:
        raise SettingsError(f"{name} must be at least 0 and less than 1 (a share, e.g. 0.5), got {value:g}")
    return value


# -- the groups ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisSettings:
    """Redis: the broker and every piece of shared state."""

    url: str = setting("REDIS_URL", redis_url, "redis://127.0.0.1:6379/0", secret=url_password)
    broker_url: str = setting("CELERY_BROKER_URL", redis_url, "", secret=url_password)  # empty: REDIS_URL
    # A worker killed at any instant costs this long: its unacknowledged tasks go to another worker after it.
    visibility_timeout_s: int = setting("CELERY_VISIBILITY_TIMEOUT", positive_int, 30)


@dataclass(frozen=True)
class CoinGlassSettings:
    ws_url: str = setting("COINGLASS_WS_URL", url, "wss://open-ws.coinglass.com/ws-api")
    api_key_ws: str = setting("COINGLASS_API_KEY_WS", text, "", secret=True)
    api_url: str = setting("COINGLASS_API_URL", url, "https://open-api-v4.coinglass.com")
    api_key: str = setting("COINGLASS_API_KEY", text, "", secret=True)
    # A cap: the budget is the plan's limit as CoinGlass's headers report it (Professional: 1200), never above this.
    requests_per_minute: int = setting("COINGLASS_REQUESTS_PER_MINUTE", positive_int, 1200)
    timeout_s: float = setting("COINGLASS_TIMEOUT", positive, 10.0)


@dataclass(frozen=True)
class StreamSettings:
    """The listener's WebSocket stream and what sits between it and the broker."""

    channels: tuple[str, ...] = setting("WS_CHANNELS", names, DEFAULT_WS_CHANNELS)
    ping_interval_s: float = setting("WS_PING_INTERVAL", positive, 20.0)
    pong_timeout_s: float = setting("WS_PONG_TIMEOUT", positive, 10.0)
    connect_timeout_s: float = setting("WS_CONNECT_TIMEOUT", positive, 30.0)
    reconnect_delay_s: float = setting("WS_RECONNECT_DELAY", positive, 2.0)
    reconnect_max_delay_s: float = setting("WS_RECONNECT_MAX_DELAY", positive, 60.0)
    healthy_reset_s: float = setting("WS_HEALTHY_RESET", positive, 60.0)
    close_timeout_s: float = setting("WS_CLOSE_TIMEOUT", positive, 10.0)
    max_message_bytes: int = setting("WS_MAX_MESSAGE_BYTES", positive_int, 10 * 1024 * 1024)
    buffer_max_events: int = setting("LISTENER_BUFFER_MAX_EVENTS", positive_int, 100_000)
    buffer_max_bytes: int = setting("LISTENER_BUFFER_MAX_BYTES", positive_int, 64 * 1024 * 1024)
    batch_max_events: int = setting("LISTENER_BATCH_MAX_EVENTS", positive_int, 500)
    status_ttl_s: int = setting("LISTENER_STATUS_TTL", positive_int, 5)
    stale_after_s: float = setting("LISTENER_STALE_AFTER", positive, 30.0)


@dataclass(frozen=True)
class SourceSettings:
    """Where events come from: CoinGlass, the exchanges' own public streams, or both (teleglas.source.exchanges).
    The URLs point tests and the demo at emulators."""

    sources: tuple[str, ...] = setting("SOURCES", sources, (SOURCE_COINGLASS,))
    # The /market route: since 2026-04-23 forceOrder and aggTrade stream only there (docs/protocols.md).
    binance_ws_url: str = setting("BINANCE_FUTURES_WS_URL", url, "wss://fstream.binance.com/market/ws")
    bybit_ws_url: str = setting("BYBIT_WS_URL", url, "wss://stream.bybit.com/v5/public/linear")
    okx_ws_url: str = setting("OKX_WS_URL", url, "wss://ws.okx.com:8443/ws/v5/public")
    okx_rest_url: str = setting("OKX_REST_URL", url, "https://www.okx.com")
    trade_symbols: tuple[str, ...] = setting("EXCHANGE_TRADE_SYMBOLS", upper_names, ("BTCUSDT", "ETHUSDT"))
    # Bybit has no all-symbol liquidation topic: one per symbol (Binance and OKX stream every symbol).
    liquidation_symbols: tuple[str, ...] = setting(
        "EXCHANGE_LIQUIDATION_SYMBOLS",
        upper_names,
        ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "AVAXUSDT", "DOTUSDT"),
    )
    # Trades below this never leave the listener: the CoinGlass channels' own minimum (…@10000), so both sources
    # carry the same trades and the exchanges' every small fill does not cross the broker.
    trade_min_usd: float = setting("EXCHANGE_TRADE_MIN_USD", not_negative, 10_000.0)
    # Binance sends no pong to wait for: a connection without any frame this long is declared dead.
    binance_silence_s: float = setting("BINANCE_SILENCE_TIMEOUT", positive, 300.0)

    @property
    def exchanges(self) -> tuple[str, ...]:
        return tuple(s for s in self.sources if s != SOURCE_COINGLASS)


@dataclass(frozen=True)
class TelegramSettings:
    """The alert bot, its chats and Telegram's limits."""

    api_url: str = setting("TELEGRAM_API_URL", url, "https://api.telegram.org")
    alert_token: str = setting("TELEGRAM_ALERT_TOKEN", text, "", secret=True)
    alert_chat_ids: tuple[ChatId, ...] = setting("TELEGRAM_ALERT_CHAT_IDS", chat_ids, ())
    timeout_s: float = setting("TELEGRAM_TIMEOUT", positive, 10.0)
    send_max_retries: int = setting("TELEGRAM_SEND_MAX_RETRIES", count, 5)
    bot_per_s: float = setting("TELEGRAM_BOT_PER_SECOND", positive, 25.0)
    chat_interval_s: float = setting("TELEGRAM_CHAT_INTERVAL", positive, 1.0)
    group_per_min: float = setting("TELEGRAM_GROUP_PER_MINUTE", positive, 20.0)
    rate_margin_s: float = setting("TELEGRAM_RATE_MARGIN", not_negative, 0.1)
    max_inline_wait_s: float = setting("TELEGRAM_MAX_INLINE_WAIT", not_negative, 0.5)


@dataclass(frozen=True)
class ManualSettings:
    """The manual command bot."""

    token: str = setting("TELEGRAM_TOKEN", text, "", secret=True)
    allowed_user_ids: frozenset[int] = setting("TELEGRAM_ALLOWED_USER_IDS", user_ids, frozenset())
    market_data_public: bool = setting("MANUAL_MARKET_DATA_PUBLIC", boolean, True)
    status_public: bool = setting("MANUAL_STATUS_PUBLIC", boolean, False)
    commands_per_minute: int = setting("MANUAL_COMMANDS_PER_MINUTE", positive_int, 20)  # every message answered
    # At most this share of COINGLASS_REQUESTS_PER_MINUTE for market commands: the alert system keeps the rest.
    rest_share: float = setting("MANUAL_REST_SHARE", share, 0.5)
    health_port: int = setting("MANUAL_HEALTH_PORT", port, 8080)
    poll_timeout_s: int = setting("MANUAL_POLL_TIMEOUT", positive_int, 20)


@dataclass(frozen=True)
class RuleSettings:
    """What qualifies, and how alerts are grouped for a chat."""

    liquidation_min_usd: float | None = setting("LIQUIDATION_MIN_USD", optional_amount, None)  # None: the rules file
    whale_min_usd: float | None = setting("WHALE_MIN_USD", optional_amount, None)
    rules_file: Path | None = setting("ALERT_RULES_FILE", file_path, None)  # None: the bundled rules
    whale_score_window_s: float = setting("WHALE_SCORE_WINDOW", positive, 300.0)
    digest_group_wait_s: float = setting("DIGEST_GROUP_WAIT", positive, 2.0)
    digest_group_interval_s: float = setting("DIGEST_GROUP_INTERVAL", positive, 10.0)
    enable_whale_alerts: bool = setting("ENABLE_WHALE_ALERTS", boolean, True)
    timezone_name: str = setting("ALERT_TIMEZONE", time_zone, "UTC")
    event_dedupe_ttl_s: int = setting("EVENT_DEDUPE_TTL", positive_int, 86_400)
    max_age_s: float = setting("ALERT_MAX_AGE", positive, 180.0)  # a send later than this says it is delayed

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)


@dataclass(frozen=True)
class DeliverySettings:
    """What happens to work that fails, and what is kept."""

    record_ttl_s: int = setting("DELIVERY_RECORD_TTL", positive_int, 7 * 86_400)
    task_max_retries: int = setting("TASK_MAX_RETRIES", positive_int, 8)
    chat_recheck_interval_s: float = setting("CHAT_RECHECK_INTERVAL", positive, 600.0)
    deadletter_ttl_s: int = setting("DEADLETTER_TTL", positive_int, 14 * 86_400)
    deadletter_max: int = setting("DEADLETTER_MAX", positive_int, 10_000)


@dataclass(frozen=True)
class BeatSettings:
    """celery beat's checks through the CoinGlass REST API, and the dashboard's price moves."""

    whale_poll_interval_s: float = setting("WHALE_POLL_INTERVAL", positive, 15.0)
    whale_poll_lookback_s: float = setting("WHALE_POLL_LOOKBACK", positive, 600.0)
    funding_check_interval_s: float = setting("FUNDING_CHECK_INTERVAL", positive, 60.0)
    funding_rate_threshold_pct: float = setting("FUNDING_RATE_THRESHOLD", positive, 0.1)
    funding_cooldown_s: float = setting("FUNDING_COOLDOWN", positive, 4 * 3600.0)
    funding_symbols: tuple[str, ...] = setting("FUNDING_SYMBOLS", upper_names, ())
    oi_check_interval_s: float = setting("OI_CHECK_INTERVAL", positive, 60.0)
    oi_symbols: tuple[str, ...] = setting("OI_SYMBOLS", upper_names, ("BTC", "ETH", "SOL"))
    oi_change_threshold_pct: float = setting("OI_CHANGE_THRESHOLD", positive, 5.0)
    oi_window_s: float = setting("OI_WINDOW", positive, 900.0)
    oi_cooldown_s: float = setting("OI_COOLDOWN", positive, 1800.0)
    startup_quiet_s: int = setting("STARTUP_QUIET", positive_int, 60)
    price_move_exchange: str = setting("PRICE_MOVE_EXCHANGE", text, "Binance")
    price_move_interval_s: float = setting("PRICE_MOVE_INTERVAL", positive, 60.0)


@dataclass(frozen=True)
class OpsSettings:
    """Health, metrics, logs, the dashboard and Flower."""

    health_host: str = setting("HEALTH_HOST", host, "127.0.0.1")  # the listener's and the manual bot's
    health_port: int = setting("HEALTH_PORT", port, 8081)
    metrics_chat_labels: bool = setting("METRICS_CHAT_LABELS", boolean, False)  # chat ids are user ids
    dashboard_host: str = setting("DASHBOARD_HOST", host, "127.0.0.1")
    dashboard_port: int = setting("DASHBOARD_PORT", port, 8082)
    # The read-only dashboard, and Flower, whose API can send any task (any text to any chat) and stop workers.
    dashboard_user: str = setting("DASHBOARD_USER", text, "")
    dashboard_password: str = setting("DASHBOARD_PASSWORD", password, "", secret=True)
    flower_user: str = setting("FLOWER_USER", text, "")
    flower_password: str = setting("FLOWER_PASSWORD", password, "", secret=True)
    # ws:// and http:// to a host other than this one send keys and tokens in clear: refused unless true.
    allow_plaintext_urls: bool = setting("ALLOW_PLAINTEXT_URLS", boolean, False)
    log_format: str = setting("LOG_FORMAT", one_of("text", "json"), "text")
    log_level: str = setting("LOG_LEVEL", log_level, "INFO")
    alert_history_ttl_s: int = setting("ALERT_HISTORY_TTL", positive_int, 7 * 86_400)
    alert_history_max: int = setting("ALERT_HISTORY_MAX", positive_int, 50_000)
    worker_heartbeat_interval_s: float = setting("WORKER_HEARTBEAT_INTERVAL", positive, 5.0)
    worker_heartbeat_stale_s: float = setting("WORKER_HEARTBEAT_STALE", positive, 30.0)


@dataclass(frozen=True)
class ChartSettings:
    """Charts in Telegram: storms, liquidation summaries and cascade digests, the manual bot's pictures, the recap."""

    enabled: bool = setting("CHARTS_ENABLED", boolean, True)
    # An alert whose chart is not rendered within this long goes out as text (counted); rendering never holds it.
    render_timeout_s: float = setting("CHART_RENDER_TIMEOUT", positive, 10.0)
    ttl_s: int = setting("CHART_TTL", positive_int, 3600)  # a rendered PNG is kept this long for its sends


@dataclass(frozen=True)
class Settings:
    redis: RedisSettings = field(default_factory=RedisSettings)
    coinglass: CoinGlassSettings = field(default_factory=CoinGlassSettings)
    ws: StreamSettings = field(default_factory=StreamSettings)
    sources: SourceSettings = field(default_factory=SourceSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    manual: ManualSettings = field(default_factory=ManualSettings)
    rules: RuleSettings = field(default_factory=RuleSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    beat: BeatSettings = field(default_factory=BeatSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    charts: ChartSettings = field(default_factory=ChartSettings)

    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log line, an exception text or a metric."""
        found: list[str] = []
        for group in _groups(self):
            for f in fields(group):
                secret, value = f.metadata.get("secret"), getattr(group, f.name)
                if secret and value:
                    found += [value] if secret is True else secret(value)
        return tuple(dict.fromkeys(found))

    @property
    def timezone(self) -> ZoneInfo:
        return self.rules.timezone


def _groups(settings: Settings) -> list[Any]:
    return [getattr(settings, f.name) for f in fields(settings)]


def every_variable() -> list[str]:
    """The name of every environment variable Settings reads (documentation and the local stack use it)."""
    return [f.metadata["env"] for cls in _group_classes().values() for f in fields(cls)]


def _group_classes() -> dict[str, type[Any]]:
    """Each group's name in Settings and its dataclass."""
    defaults = Settings()
    return {group.name: type(getattr(defaults, group.name)) for group in fields(Settings)}


def load_settings(environment: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Build Settings from `environment` (default: the process environment) plus `env_file` (default: ./.env).

    Variables already in the environment win over the file, as with any dotenv loader.
    """
    values = dict(os.environ if environment is None else environment)
    env_file = env_file if env_file is not None else Path(values.get("TELEGLAS_ENV_FILE", PROJECT_ROOT / ".env"))
    if env_file.is_file():
        reader = cast(type[environ.Env], type("_DotEnv", (environ.Env,), {"ENVIRON": values}))
        reader.read_env(env_file)
    env = type("_Env", (environ.FileAwareEnv,), {"ENVIRON": environ.FileAwareMapping(env=values)})()
    groups = {}
    try:
        for name, cls in _group_classes().items():
            groups[name] = cls(**{f.name: _read(env, f) for f in fields(cls)})
    except environ.ImproperlyConfigured as exc:
        raise SettingsError(str(exc)) from None
    settings = Settings(**groups)
    if not settings.redis.broker_url:
        settings = _replace_group(settings, "redis", broker_url=settings.redis.url)
    _check(settings)
    return settings


def _read(env: environ.Env, spec: Any) -> Any:
    raw = env.str(spec.metadata["env"], default="")
    if not raw.strip():
        return spec.default
    return spec.metadata["parse"](spec.metadata["env"], raw)


def _replace_group(settings: Settings, name: str, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, **{name: replace(getattr(settings, name), **changes)})


def _check(settings: Settings) -> None:
    """Rules between settings. The broker hands a task still unacknowledged after the visibility timeout to
    another worker. No task waits (delays are due work in Redis), but a send can take the connect and the read
    timeout: the timeout must outlast that, or a slow send would routinely run twice (harmless, the lease stops
    the copy, but wasted)."""
    if 2 * settings.telegram.timeout_s >= settings.redis.visibility_timeout_s:
        raise SettingsError(
            f"CELERY_VISIBILITY_TIMEOUT ({settings.redis.visibility_timeout_s} s) must exceed twice TELEGRAM_TIMEOUT "
            f"({settings.telegram.timeout_s:g} s: a send's connect and read timeouts)"
        )
    ops = settings.ops
    if ops.dashboard_password and ops.dashboard_password == ops.flower_password:
        raise SettingsError(
            "DASHBOARD_PASSWORD equals FLOWER_PASSWORD: the read-only dashboard's password would also open Flower"
        )
    for name, value, secure in (
        ("COINGLASS_WS_URL", settings.coinglass.ws_url, "wss"),
        ("COINGLASS_API_URL", settings.coinglass.api_url, "https"),
        ("TELEGRAM_API_URL", settings.telegram.api_url, "https"),
    ):
        _check_tls(name, value, secure, ops.allow_plaintext_urls)


_PLAINTEXT = {"wss": "ws", "https": "http"}


def _check_tls(name: str, value: str, secure: str, plaintext_allowed: bool) -> None:
    """Keys and tokens travel with every request: only TLS, or plaintext to this machine (or when allowed)."""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme == secure:
        return
    if parts.scheme != _PLAINTEXT[secure]:
        raise SettingsError(f"{name} must be a {secure}:// URL, got scheme {parts.scheme!r}")
    if not plaintext_allowed and not _is_loopback(parts.hostname or ""):
        raise SettingsError(
            f"{name} sends the key in clear ({parts.scheme}://) to {parts.hostname}: use {secure}://, or set "
            "ALLOW_PLAINTEXT_URLS=true for a network you trust (the demo's emulators)"
        )


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read on first use."""
    return load_settings()
