"""The REST half of the CoinGlass emulator: the v4 endpoints TELEGLAS polls, the `CG-API-KEY` check, the
`{"code","msg","data"}` envelope, the rate-limit headers of the key's plan and scripted faults. Served by the
same process as the WebSocket stream. Written from the CoinGlass docs (docs/protocols.md), sharing no code with
the client it tests.

Data comes from a JSON file `{path: data}` (for keyed endpoints `{path: {SYMBOL: data}}`, or
`{path: {SYMBOL: {RANGE: data}}}` where two query parameters choose), read again whenever it changes, so a test
or a person can move the market between two polls. Given a directory instead, it serves the doc pages' own
examples: every `*.json` there with a `path` and a `response_example` (tests/fixtures/docs/coinglass), the whole
envelope as the page prints it, whatever the query. Faults are queued with
`GET /_emulator/rest-fault?path=/api/...&kind=bad_key|rate_limit|server_error|plan|plan_401&count=N`.

Each answer carries `API-KEY-MAX-LIMIT` (the plan's requests per minute) and `API-KEY-USE-LIMIT` (requests
this minute), and a request over the plan's limit gets 429, as the docs describe.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from teleglas.devstack.emulators import price_path
from teleglas.devstack.emulators.scenario import BUNDLED

DEFAULT_REST_DATA = BUNDLED / "rest.json"
PRICE_HISTORY = "/api/futures/price/history"
# Error bodies: the docs give codes (https://docs.coinglass.com/reference/responses-error-codes) but no example
# body; these texts are ASSUMED (docs/protocols.md). A plan refusal as seen in the wild: code "401", "Upgrade
# plan", reported with HTTP 200; `plan_401` is the same body with the HTTP 401 the quickstart names.
FAULTS = {
    "bad_key": (HTTPStatus.UNAUTHORIZED, {"code": "401", "msg": "Invalid API key"}),
    "rate_limit": (HTTPStatus.TOO_MANY_REQUESTS, {"code": "429", "msg": "Too Many Requests"}),
    "server_error": (HTTPStatus.INTERNAL_SERVER_ERROR, {"code": "500", "msg": "Internal Server Error"}),
    "plan": (HTTPStatus.OK, {"code": "401", "msg": "Upgrade plan"}),
    "plan_401": (HTTPStatus.UNAUTHORIZED, {"code": "401", "msg": "Upgrade plan"}),
}
# Endpoints whose answer depends on query parameters: the data file nests by them, in this order.
KEYED_BY = {
    "/api/futures/open-interest/exchange-list": ("symbol",),
    "/api/futures/liquidation/exchange-list": ("symbol", "range"),
    "/api/futures/orderbook/ask-bids-history": ("symbol",),
    "/api/futures/global-long-short-account-ratio/history": ("symbol",),
    "/api/futures/liquidation/aggregated-history": ("symbol",),
    "/api/futures/open-interest/exchange-history-chart": ("symbol",),
}
# Published plan limits per minute: HOBBYIST 30, STARTUP 80, STANDARD 300, PROFESSIONAL 1200.
DEFAULT_PLAN_LIMIT = 1200


class RestEmulator:
    def __init__(
        self,
        api_keys: set[str],
        data_path: Path = DEFAULT_REST_DATA,
        plan_limit: int = DEFAULT_PLAN_LIMIT,
        clock: Callable[[], float] = time.time,
    ):
        self.api_keys = api_keys
        self.data_path = data_path
        self.plan_limit = plan_limit
        self.clock = clock  # whose minute the plan's limit counts in
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, query) of every answered request
        self._faults: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self._mtime = -1.0
        self._minute = 0
        self._used = 0  # requests of this key in `_minute`

    def add_fault(self, path: str, kind: str, count: int = 1) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r} (expected one of {', '.join(FAULTS)})")
        with self._lock:
            self._faults.extend([(path, kind)] * count)

    def answer(self, path: str, query: dict[str, str], api_key: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((path, query))
            if api_key not in self.api_keys:
                return FAULTS["bad_key"]
            minute = int(self.clock() // 60)
            self._used = self._used + 1 if minute == self._minute else 1
            self._minute = minute
            if self._used > self.plan_limit:
                return FAULTS["rate_limit"]
            fault = next((f for f in self._faults if f[0] == path), None)
            if fault is not None:
                self._faults.remove(fault)
                return FAULTS[fault[1]]
            if self.data_path.is_dir():
                return self._doc_example(path)
            data = self._current().get(path)
        if data is None:
            return HTTPStatus.NOT_FOUND, {"code": "404", "msg": "Not Found"}
        if path == PRICE_HISTORY:  # generated: the data file gives each pair's price path
            return self._price_history(data, query)
        for param in KEYED_BY.get(path, ()):
            value = query.get(param, "")
            if not isinstance(data, dict) or value not in data:
                return HTTPStatus.OK, {"code": "400", "msg": f"{param} {value} not supported"}
            data = data[value]
        if path not in KEYED_BY and "symbol" in query and isinstance(data, list):
            data = [item for item in data if isinstance(item, dict) and item.get("symbol") == query["symbol"]]
        return HTTPStatus.OK, {"code": "0", "msg": "success", "data": data}

    def _doc_example(self, path: str) -> tuple[int, dict[str, Any]]:
        """The page's own example answer for `path` (the first file naming it, by file name)."""
        for file in sorted(self.data_path.glob("*.json")):
            page = json.loads(file.read_text(encoding="utf-8"))
            if isinstance(page, dict) and page.get("path") == path and "response_example" in page:
                return HTTPStatus.OK, page["response_example"]
        return HTTPStatus.NOT_FOUND, {"code": "404", "msg": "Not Found"}

    @staticmethod
    def _price_history(specs: dict[str, Any], query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        spec = specs.get(query.get("symbol", "")) if isinstance(specs, dict) else None
        if spec is None or not query.get("exchange"):
            return HTTPStatus.OK, {
                "code": "400",
                "msg": f"symbol {query.get('symbol', '')} on exchange {query.get('exchange', '')} not supported",
            }
        try:
            rows = price_path.candles(spec, query, int(time.time() * 1000))
        except price_path.CandleRequestError as exc:
            return HTTPStatus.OK, {"code": "400", "msg": str(exc)}
        return HTTPStatus.OK, {"code": "0", "msg": "success", "data": rows}

    def limit_headers(self) -> dict[str, str]:
        with self._lock:
            return {"API-KEY-MAX-LIMIT": str(self.plan_limit), "API-KEY-USE-LIMIT": str(self._used)}

    def _current(self) -> dict[str, Any]:
        mtime = self.data_path.stat().st_mtime if self.data_path.exists() else 0.0
        if mtime != self._mtime:
            self._data = json.loads(self.data_path.read_text(encoding="utf-8")) if mtime else {}
            self._mtime = mtime
            _resolve_ages(self._data, int(time.time() * 1000))
        return self._data


def _resolve_ages(value: Any, loaded_ms: int) -> None:
    """`"create_time_age_s": 40` becomes `"create_time": <40 s before the file was read>` in every object (a list of
    ages a list of times), so bundled data is always recent, and stays the same record (same fingerprint) until
    the file changes."""
    if isinstance(value, list):
        for item in value:
            _resolve_ages(item, loaded_ms)
    elif isinstance(value, dict):
        for key in [k for k in value if isinstance(k, str) and k.endswith("_age_s")]:
            ages = value.pop(key)
            value[key[: -len("_age_s")]] = (
                [loaded_ms - int(float(age) * 1000) for age in ages]
                if isinstance(ages, list)
                else loaded_ms - int(float(ages) * 1000)
            )
        for item in value.values():
            _resolve_ages(item, loaded_ms)
