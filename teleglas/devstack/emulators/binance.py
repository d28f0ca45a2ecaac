"""A Binance USDⓈ-M Futures market-stream emulator, from Binance's pages (docs/protocols.md, Exchanges):

- routes: `/market/ws` and `/market/stream?streams=a/b` carry forceOrder and aggTrade; `/public/ws` and the
  unrouted `/ws` acknowledge a subscription to them and then send nothing (what Binance does since 2026-04-23);
- `{"method": "SUBSCRIBE" | "UNSUBSCRIBE", "params": [...], "id": N}` → `{"result": null, "id": N}`;
  `LIST_SUBSCRIPTIONS` → `{"result": [...], "id": N}`; the spot page's error frames for bad JSON (code 3) and a
  bad id or method (code 2);
- more than 10 incoming messages in a second closes the connection;
- the server sends a protocol ping every `--ping-interval` s (180) and closes a connection that has not ponged
  within `--pong-timeout` s (600), and closes every connection at `--max-age` s (24 h);
- `/stream` connections get `{"stream": name, "data": payload}`, `/ws` ones the payload itself.

Scenario frames are payloads (`{"e": "forceOrder", ...}`, `{"e": "aggTrade", ...}`); a forceOrder goes to
`!forceOrder@arr` and `<symbol>@forceOrder`, an aggTrade to `<symbol>@aggTrade`.

    python -m teleglas.devstack.emulators.binance --port 8766 --scenario binance.jsonl
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed

from teleglas.devstack.emulators.exchange_base import Client, ExchangeEmulator, command_line, serve_until_interrupted
from teleglas.devstack.emulators.scenario import load_scenario

MARKET_PATHS = ("/market/ws", "/market/stream")
MAX_MESSAGES_PER_S = 10
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


class BinanceEmulator(ExchangeEmulator):
    name = "binance"
    ws_paths = ("/market/ws", "/market/stream", "/public/ws", "/public/stream", "/ws", "/stream")

    def __init__(
        self,
        *args,
        ping_interval_s: float = 180.0,
        pong_timeout_s: float = 600.0,
        max_age_s: float = 86_400.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.max_age_s = max_age_s
        self.pings_sent = 0

    def status(self) -> dict[str, Any]:
        return {**super().status(), "pings_sent": self.pings_sent}

    async def on_connect(self, client: Client) -> None:
        streams = client.query.get("streams", [""])[0]
        if client.path.endswith("/stream") and streams:
            client.topics.update(s for s in streams.split("/") if s)
            await self.subscribed()

    async def on_message(self, client: Client, text: str) -> None:
        if len(client.recent) > MAX_MESSAGES_PER_S:
            await client.connection.close(1008, "Too many messages")
            return
        try:
            request = json.loads(text)
        except ValueError:
            await self.send(client, json.dumps({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}))
            return
        if not isinstance(request, dict):
            return
        request_id = request.get("id")
        if type(request_id) is not int or request_id < 0:
            await self.send(
                client, json.dumps({"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"})
            )
            return
        method, params = request.get("method"), request.get("params", [])
        if method not in _METHODS:
            shown = method[:40] if isinstance(method, str) else type(method).__name__
            message = f"Invalid request: unknown variant {shown}, expected one of {', '.join(_METHODS)}"
            await self.send(client, json.dumps({"code": 2, "msg": message}))
            return
        if method == "LIST_SUBSCRIPTIONS":
            await self.send(client, json.dumps({"result": sorted(client.topics), "id": request_id}))
            return
        if method in ("SUBSCRIBE", "UNSUBSCRIBE") and isinstance(params, list):
            names = {p for p in params if isinstance(p, str)}
            if method == "SUBSCRIBE":
                client.topics.update(names)
            else:
                client.topics.difference_update(names)
        await self.send(client, json.dumps({"result": None, "id": request_id}))
        await self.subscribed()

    def topics_of(self, frame: Any) -> set[str]:
        kind = frame.get("e")
        if kind == "forceOrder":
            return {"!forceOrder@arr", f"{frame['o']['s'].lower()}@forceOrder"}
        if kind == "aggTrade":
            return {f"{frame['s'].lower()}@aggTrade"}
        return set()

    def route_serves(self, client: Client, topic: str) -> bool:
        return client.path in MARKET_PATHS  # every topic this emulator knows is a /market one

    def wrap(self, client: Client, topic: str, text: str) -> str:
        return f'{{"stream": {json.dumps(topic)}, "data": {text}}}' if client.path.endswith("/stream") else text

    async def watch(self, client: Client) -> None:
        """Protocol pings on the server's clock; no pong in time, or the connection's age limit, closes it."""
        last_pong = time.monotonic()
        while True:
            await asyncio.sleep(
                min(self.ping_interval_s, max(0.0, self.max_age_s - (time.monotonic() - client.connected_at)))
            )
            if time.monotonic() - client.connected_at >= self.max_age_s:
                await client.connection.close(1000, "connection age limit")
                return
            try:
                waiter = await client.connection.ping()
                self.pings_sent += 1
                await asyncio.wait_for(waiter, self.pong_timeout_s)
                last_pong = time.monotonic()
            except (TimeoutError, ConnectionClosed):
                if time.monotonic() - last_pong >= self.pong_timeout_s:
                    await client.connection.close(1000, "pong timeout")
                return


def main(argv: list[str] | None = None) -> int:
    parser = command_line("Binance USDⓈ-M market-stream emulator", 8766, "binance.jsonl")
    parser.add_argument("--ping-interval", type=float, default=180.0)
    parser.add_argument("--pong-timeout", type=float, default=600.0)
    parser.add_argument("--max-age", type=float, default=86_400.0)
    args = parser.parse_args(argv)
    return serve_until_interrupted(
        BinanceEmulator(
            load_scenario(args.scenario),
            args.host,
            args.port,
            args.min_subscribers,
            repeat_every_s=args.repeat_every,
            ping_interval_s=args.ping_interval,
            pong_timeout_s=args.pong_timeout,
            max_age_s=args.max_age,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
