"""The CoinGlass v4 REST client: one requests Session, the `CG-API-KEY` header, the `{"code","msg","data"}`
envelope checked on every answer, errors mapped to typed exceptions at this edge.

A request budget per minute (the plan's limit, `COINGLASS_REQUESTS_PER_MINUTE`) is shared by every process
through Redis, and answers are cached in Redis for a few seconds, so the beat checks and the manual bot never
ask twice for the same thing. The key is a secret: it is in a header, never in a URL, log line or exception.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from teleglas.ops.redaction import redact, register_secrets

SUCCESS_CODE = "0"

# The v4 endpoints TELEGLAS asks (coinglass-api.md), named once for the beat checks and the manual bot.
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


class CoinGlassError(Exception):
    """Base of every CoinGlass failure; the text is safe to show to a user or log."""


class CoinGlassAuthError(CoinGlassError):
    """Missing or invalid key (HTTP 401 or an envelope saying so)."""


class CoinGlassPlanError(CoinGlassError):
    """The key's plan does not include this endpoint."""


class CoinGlassRateLimited(CoinGlassError):
    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CoinGlassServerError(CoinGlassError):
    """5xx, a body that is not the envelope, or no answer at all: worth trying again later."""


class CoinGlassRequestError(CoinGlassError):
    """Any other refusal (bad parameters, not found): trying again will not help."""


_PLAN_WORDS = ("upgrade", "plan", "not available", "permission", "not support", "subscribe")


def check_envelope(status: int, body: Any, path: str) -> Any:
    """Returns `data` of a successful answer; raises the typed error for anything else."""
    if status == 401:
        raise CoinGlassAuthError(f"CoinGlass refused the API key for {path} (HTTP 401): check COINGLASS_API_KEY")
    if status == 429:
        raise CoinGlassRateLimited(f"CoinGlass rate limit reached for {path} (HTTP 429)", 60.0)
    if status >= 500:
        raise CoinGlassServerError(f"CoinGlass answered HTTP {status} for {path}")
    if not isinstance(body, dict) or "code" not in body:
        raise CoinGlassServerError(f"CoinGlass answered {path} with something that is not its envelope (HTTP {status})")
    code = str(body.get("code"))
    message = redact(str(body.get("msg") or ""))[:300]
    if code == SUCCESS_CODE and status < 400:
        return body.get("data")
    lowered = message.lower()
    if code == "401" or "api key" in lowered or "apikey" in lowered:
        raise CoinGlassAuthError(f"CoinGlass refused the API key for {path}: {message}")
    if code == "429" or "too many" in lowered or "rate limit" in lowered:
        raise CoinGlassRateLimited(f"CoinGlass rate limit reached for {path}: {message}", 60.0)
    if code.startswith("5"):
        raise CoinGlassServerError(f"CoinGlass error {code} for {path}: {message}")
    if any(word in lowered for word in _PLAN_WORDS):
        raise CoinGlassPlanError(f"{path} is not available on this CoinGlass plan: {message}")
    raise CoinGlassRequestError(f"CoinGlass error {code} for {path}: {message}")


class Budget(Protocol):
    """The request budget per minute that every process shares (teleglas.state.budgets.RestBudget)."""

    def take(self, per_minute: int) -> bool: ...


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
        register_secrets(api_key)
        self._base = base_url.rstrip("/")
        self._budget = budget
        self._cache = cache
        self._per_minute = requests_per_minute
        self._timeout = (min(timeout_s, 5.0), timeout_s)
        self._session = requests.Session()
        self._session.headers.update({"CG-API-KEY": api_key, "accept": "application/json"})

    def get(self, path: str, params: dict[str, Any] | None = None, cache_s: float = 0) -> Any:
        """`data` of GET `path`, from the shared cache when younger than `cache_s`."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        cache_key = f"{path}?{urlencode(sorted(params.items()))}"
        if cache_s > 0:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return json.loads(cached)
        if not self._budget.take(self._per_minute):
            raise CoinGlassRateLimited(
                f"the CoinGlass budget of {self._per_minute} requests/minute is used up (COINGLASS_REQUESTS_PER_MINUTE)",
                60 - time.time() % 60,
            )
        try:
            response = self._session.get(self._base + path, params=params, timeout=self._timeout)
        except requests.RequestException as exc:  # the text can hold the URL; the key is only in a header
            raise CoinGlassServerError(f"CoinGlass did not answer {path}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser recurses: not the envelope
            body = None
        data = check_envelope(response.status_code, body, path)
        if cache_s > 0:
            self._cache.put(cache_key, json.dumps(data), cache_s)
        return data
