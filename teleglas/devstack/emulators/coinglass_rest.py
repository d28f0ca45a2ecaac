"""The REST half of the CoinGlass emulator: the v4 endpoints TELEGLAS polls, the `CG-API-KEY` check, the
`{"code","msg","data"}` envelope and scripted faults. Served by the same process as the WebSocket stream.

Data comes from a JSON file `{path: data}` (for keyed endpoints `{path: {SYMBOL: data}}`, or
`{path: {SYMBOL: {RANGE: data}}}` where two query parameters choose), read again
whenever it changes, so a test or a person can move the market between two polls. Faults are queued with
`GET /_emulator/rest-fault?path=/api/...&kind=bad_key|rate_limit|server_error|plan&count=N`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http import HTTPStatus
from pathlib import Path
from typing import Any

from teleglas.devstack.emulators import price_path
from teleglas.devstack.emulators.scenario import BUNDLED
from teleglas.source.coinglass.rest import PRICE_HISTORY

DEFAULT_REST_DATA = BUNDLED / "rest.json"
FAULTS = {
    "bad_key": (HTTPStatus.UNAUTHORIZED, {"code": "401", "msg": "Invalid API key"}),
    "rate_limit": (HTTPStatus.TOO_MANY_REQUESTS, {"code": "429", "msg": "Too Many Requests"}),
    "server_error": (HTTPStatus.INTERNAL_SERVER_ERROR, {"code": "500", "msg": "Internal Server Error"}),
    # The real text is undocumented (coinglass-api.md); an HTTP 200 with an error envelope, as reported.
    "plan": (HTTPStatus.OK, {"code": "400", "msg": "Your current plan does not support this endpoint, please upgrade"}),
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
PER_MINUTE_LIMIT = 30


class RestEmulator:
    def __init__(self, api_keys: set[str], data_path: Path = DEFAULT_REST_DATA):
        self.api_keys = api_keys
        self.data_path = data_path
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, query) of every answered request
        self._faults: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self._mtime = -1.0

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
            fault = next((f for f in self._faults if f[0] == path), None)
            if fault is not None:
                self._faults.remove(fault)
                return FAULTS[fault[1]]
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
        return {
            "API-KEY-MAX-LIMIT": str(PER_MINUTE_LIMIT),
            "API-KEY-USE-LIMIT": str(len(self.requests) % PER_MINUTE_LIMIT),
        }

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
