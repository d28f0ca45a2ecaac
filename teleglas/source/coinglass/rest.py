"""The CoinGlass v4 REST client: one requests Session, the `CG-API-KEY` header, the `{"code","msg","data"}`
envelope checked on every answer, errors mapped to typed exceptions at this edge (docs/protocols.md, CoinGlass).

The plan is read, not assumed: every answer carries `API-KEY-MAX-LIMIT` (the key's requests per minute) and
`API-KEY-USE-LIMIT` (used so far), and the budget every process shares through Redis follows them, capped by
COINGLASS_REQUESTS_PER_MINUTE. Answers are cached in Redis for a few seconds, so the beat checks and the manual
bot never ask twice for the same thing. The key is a secret: it is in a header, never in a URL, log line or
exception.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from teleglas.ops.redaction import redact, register_secrets

SUCCESS_CODE = "0"

# The v4 endpoints TELEGLAS asks (docs/protocols.md), named once for the beat checks and the manual bot.
SUPPORTED_COINS = "/api/futures/supported-coins"
COINS_MARKETS = "/api/futures/coins-markets"
LIQUIDATIONS_BY_EXCHANGE = "/api/futures/liquidation/exchange-list"
ORDERBOOK_DEPTH = "/api/futures/orderbook/ask-bids-history"
WHALE_ALERTS = "/api/hyperliquid/whale-alert"
FUNDING_RATES = "/api/futures/funding-rate/exchange-list"
OPEN_INTEREST = "/api/futures/open-interest/exchange-list"
LONG_SHORT_RATIO = "/api/futures/global-long-short-account-ratio/history"
FEAR_GREED = "/api/index/fear-greed-history"
PRICE_HISTORY = "/api/futures/price/history"
LIQUIDATION_HISTORY = "/api/futures/liquidation/aggregated-history"
OPEN_INTEREST_HISTORY = "/api/futures/open-interest/exchange-history-chart"
RSI_LIST = "/api/futures/rsi/list"

# The smallest plan each endpoint needs, from its page's "API plans" table; every other endpoint we call is
# open to every plan, but its `interval` is not: Hobbyist >= 4h, Startup >= 30m.
PLANS = ("Hobbyist", "Startup", "Standard", "Professional", "Enterprise")
REQUIRED_PLAN = {COINS_MARKETS: "Standard", RSI_LIST: "Standard", WHALE_ALERTS: "Startup"}
INTERVAL_PLANS = (("Hobbyist", 240), ("Startup", 30))  # (plan, smallest interval in minutes it may ask)
_INTERVAL_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}

# Rate-limit headers on every answer (https://docs.coinglass.com/reference/authentication).
LIMIT_HEADER = "API-KEY-MAX-LIMIT"
USED_HEADER = "API-KEY-USE-LIMIT"
SMALLEST_PLAN_PER_MINUTE = 30  # Hobbyist: the budget until CoinGlass has said what the key's plan allows
_HEADER_COUNT = re.compile(r"[0-9]{1,7}")


class CoinGlassError(Exception):
    """Base of every CoinGlass failure; the text is safe to show to a user or log."""


class CoinGlassAuthError(CoinGlassError):
    """Missing or invalid key (HTTP 401 or an envelope saying so, without a word about the plan)."""


class CoinGlassPlanError(CoinGlassError):
    """The key's plan does not include this endpoint or interval. `required` names the smallest plan that does,
    when the docs say; `wording` is what CoinGlass said."""

    def __init__(self, message: str, path: str, required: str, wording: str):
        super().__init__(message)
        self.path = path
        self.required = required
        self.wording = wording


class CoinGlassRateLimited(CoinGlassError):
    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CoinGlassServerError(CoinGlassError):
    """5xx, a body that is not the envelope, or no answer at all: worth trying again later."""


class CoinGlassRequestError(CoinGlassError):
    """Any other refusal (bad parameters, not found): trying again will not help."""


# CoinGlass names a plan refusal only in `msg` (the quickstart: "401: key, endpoint permission or plan issue
# (check msg)"); "Upgrade plan" with code 401 is the wording seen in the wild. So the plan words are read
# before a 401 is taken for a bad key.
_PLAN_WORDS = ("upgrade", "plan", "not available", "permission", "not support", "subscri")


def required_plan(path: str, params: Mapping[str, Any] | None = None) -> str:
    """The smallest plan the docs give for `path` with these parameters, or "" when every plan may ask."""
    needed = REQUIRED_PLAN.get(path, PLANS[0])
    match = re.fullmatch(r"([0-9]{1,4})([mhdw])", str((params or {}).get("interval", "")))
    if match:
        minutes = int(match[1]) * _INTERVAL_MINUTES[match[2]]
        by_interval = next((plan for plan, smallest in INTERVAL_PLANS if minutes >= smallest), "Standard")
        needed = max(needed, by_interval, key=PLANS.index)
    return "" if needed == PLANS[0] else needed


def check_envelope(status: int, body: Any, path: str, params: Mapping[str, Any] | None = None) -> Any:
    """Returns `data` of a successful answer (HTTP 200 and code "0"); raises the typed error for anything else."""
    envelope = body if isinstance(body, dict) and "code" in body else None
    code = str(envelope.get("code")) if envelope else ""
    message = redact(str(envelope.get("msg") or "")).strip()[:300] if envelope else ""
    lowered = message.lower()
    if envelope and code == SUCCESS_CODE and status < 400:
        return envelope.get("data")
    if status == 429 or code == "429" or "too many" in lowered or "rate limit" in lowered:
        raise CoinGlassRateLimited(f"CoinGlass rate limit reached for {path} (HTTP {status}) {message}".strip(), 60.0)
    if status >= 500 or code.startswith("5"):
        raise CoinGlassServerError(f"CoinGlass answered HTTP {status} for {path} {message}".strip())
    if any(word in lowered for word in _PLAN_WORDS):
        needed = required_plan(path, params)
        raise CoinGlassPlanError(
            f"{path} is not available on this key's CoinGlass plan"
            + (f" (the docs ask for {needed} or higher)" if needed else "")
            + f": CoinGlass said {message!r}",
            path,
            needed,
            message,
        )
    if status == 401 or code == "401" or "api key" in lowered or "apikey" in lowered:
        said = f": {message}" if message else f" (HTTP {status})"
        raise CoinGlassAuthError(f"CoinGlass refused the API key for {path}{said}: check COINGLASS_API_KEY")
    if envelope is None:
        raise CoinGlassServerError(f"CoinGlass answered {path} with something that is not its envelope (HTTP {status})")
    raise CoinGlassRequestError(f"CoinGlass error {code} for {path}: {message}")


def limit_headers(headers: Mapping[str, str]) -> tuple[int | None, int | None]:
    """(requests per minute the key's plan allows, requests used so far) from an answer's headers; None for a
    header that is missing or not a plain count (outside input: anything else is ignored)."""

    def count(name: str) -> int | None:
        value = str(headers.get(name, "")).strip()
        return int(value) if _HEADER_COUNT.fullmatch(value) else None

    limit = count(LIMIT_HEADER)
    return (limit if limit else None), count(USED_HEADER)


class Budget(Protocol):
    """The request budget per minute that every process shares (teleglas.state.budgets.RestBudget)."""

    def take(self, per_minute: int) -> bool: ...
    def plan_limit(self) -> int | None: ...
    def observe(self, plan_limit: int | None, used: int | None) -> None: ...


class Cache(Protocol):
    """A short cache of answers that every process shares (teleglas.state.budgets.RestCache)."""

    def get(self, request: str) -> bytes | None: ...
    def put(self, request: str, value: str, ttl_s: float) -> None: ...


class CoinGlassRest:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        budget: Budget,
        cache: Cache,
        requests_per_minute: int,
        timeout_s: float = 10.0,
    ):
        """`requests_per_minute` (COINGLASS_REQUESTS_PER_MINUTE) caps what the plan's headers allow."""
        register_secrets(api_key)
        self._base = base_url.rstrip("/")
        self._budget = budget
        self._cache = cache
        self._cap = requests_per_minute
        self._timeout = (min(timeout_s, 5.0), timeout_s)
        self._session = requests.Session()
        self._session.headers.update({"CG-API-KEY": api_key, "accept": "application/json"})

    def per_minute(self) -> int:
        """This minute's budget: the plan's limit as CoinGlass last reported it (the smallest plan's until it
        has), never above the setting."""
        plan = self._budget.plan_limit()
        return min(self._cap, plan if plan is not None else SMALLEST_PLAN_PER_MINUTE)

    def get(self, path: str, params: dict[str, Any] | None = None, cache_s: float = 0) -> Any:
        """`data` of GET `path`, from the shared cache when younger than `cache_s`."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        cache_key = f"{path}?{urlencode(sorted(params.items()))}"
        if cache_s > 0:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return json.loads(cached)
        per_minute = self.per_minute()
        if not self._budget.take(per_minute):
            source = "COINGLASS_REQUESTS_PER_MINUTE" if per_minute == self._cap else "the key's plan, per CoinGlass"
            raise CoinGlassRateLimited(
                f"the CoinGlass budget of {per_minute} requests/minute is used up ({source})", 60 - time.time() % 60
            )
        try:
            response = self._session.get(self._base + path, params=params, timeout=self._timeout)
        except requests.RequestException as exc:  # the text can hold the URL; the key is only in a header
            raise CoinGlassServerError(f"CoinGlass did not answer {path}: {type(exc).__name__}") from None
        self._budget.observe(*limit_headers(response.headers))
        try:
            body = response.json()
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser recurses: not the envelope
            body = None
        data = check_envelope(response.status_code, body, path, params)
        if cache_s > 0:
            self._cache.put(cache_key, json.dumps(data), cache_s)
        return data
