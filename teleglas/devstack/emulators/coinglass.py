"""A CoinGlass WebSocket emulator: `/ws-api?cg-api-key=KEY`, text ping/pong, subscribe/unsubscribe by
`method`/`channels`, and a scenario replayed to subscribed clients once enough of them are subscribed.

Written from the CoinGlass docs (docs/protocols.md) and sharing no code with the client it tests. A wrong or
missing key is refused at the handshake with HTTP 401: the docs say nothing about it, so this is ASSUMED (the
ledger's row says why). Messages in another shape (`{"op": "subscribe", "args": [...]}`) are ignored, as CoinGlass does.
`GET /_emulator/status` reports replay progress as JSON (`?log=1` adds `sent_log`: [time, step index] of every
step delivered to at least one client, which benchmarks use as the events that went in). The same port serves the
REST API v4 endpoints TELEGLAS polls (teleglas.devstack.emulators.coinglass_rest), with the `CG-API-KEY` header
check, the plan's rate-limit headers and fault modes.

    python -m teleglas.devstack.emulators.coinglass --port 8765 --api-key KEY --scenario demo.jsonl \
        [--live-times] [--repeat-every S] [--rest-data FILE_OR_DOCS_DIR] [--plan-limit N]
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from teleglas.devstack.emulators.coinglass_rest import DEFAULT_PLAN_LIMIT, DEFAULT_REST_DATA, RestEmulator
from teleglas.devstack.emulators.exchange_base import command_line, serve_until_interrupted
from teleglas.devstack.emulators.scenario import Step, live_frame, load_scenario

log = logging.getLogger(__name__)
LOG_CG_EMULATOR = "[CG_EMULATOR]"
# https://docs.coinglass.com/reference/ws-getting-started: wss://open-ws.coinglass.com/ws-api?cg-api-key=KEY,
# the client sends the text "ping" and expects "pong".
WS_PATH = "/ws-api"
WS_API_KEY_PARAM = "cg-api-key"
WS_PING = "ping"
WS_PONG = "pong"


@dataclass
class Client:
    connection: ServerConnection
    channels: set[str] = field(default_factory=set)
    received: list[str] = field(default_factory=list)


class CoinGlassEmulator:
    def __init__(
        self,
        steps: list[Step],
        api_keys: set[str],
        host: str = "127.0.0.1",
        port: int = 0,
        min_subscribers: int = 1,
        start_delay_s: float = 0.2,
        rest_keys: set[str] | None = None,
        rest_data: Path = DEFAULT_REST_DATA,
        live_times: bool = False,
        repeat_every_s: float | None = None,
        plan_limit: int = DEFAULT_PLAN_LIMIT,
    ):
        self.rest = RestEmulator(rest_keys or set(api_keys), rest_data, plan_limit)
        self.steps = steps
        self.live_times = live_times
        self.repeat_every_s = repeat_every_s  # replay again this long after each replay ends (a demo that goes on)
        self.api_keys = set(api_keys)
        self.host = host
        self.port = port
        self.min_subscribers = min_subscribers
        self.start_delay_s = start_delay_s
        self.clients: list[Client] = []
        self.client_messages: list[str] = []  # everything any client sent, in order
        self.frames_sent = 0
        self.sent_log: list[tuple[float, int]] = []  # (time sent, step index) per step delivered to >= 1 client
        self.handshakes_refused = 0
        self.answer_pings = True  # False: a server that stopped answering (a half-dead connection)
        self.replay_done = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._subscribed = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    def start(self) -> CoinGlassEmulator:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.serve()), name="coinglass-emulator", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("CoinGlass emulator did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(5)

    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._subscribed = asyncio.Condition()  # one per serving loop
        async with serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            ping_interval=None,
            max_size=1 << 20,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            log.info("%s listening on %s", LOG_CG_EMULATOR, self.url)
            self._ready.set()
            replay = asyncio.create_task(self._replay())
            await self._stop.wait()
            replay.cancel()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path.startswith("/api/"):
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, body = self.rest.answer(url.path, query, request.headers.get("CG-API-KEY"))
            response = connection.respond(HTTPStatus(status), json.dumps(body))
            response.headers["Content-Type"] = "application/json"
            for name, value in self.rest.limit_headers().items():
                response.headers[name] = value
            return response
        if url.path == "/_emulator/rest-fault":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                self.rest.add_fault(query.get("path", ""), query.get("kind", ""), int(query.get("count", "1")))
            except ValueError as exc:
                return connection.respond(HTTPStatus.BAD_REQUEST, f"{exc}\n")
            return connection.respond(HTTPStatus.OK, "ok\n")
        if url.path == "/_emulator/status":
            state: dict[str, Any] = {
                "replay_done": self.replay_done.is_set(),
                "frames_sent": self.frames_sent,
                "clients": len(self.clients),
                "steps": len(self.steps),
                "handshakes_refused": self.handshakes_refused,
                "rest_requests": [path for path, _ in self.rest.requests],
            }
            if parse_qs(url.query).get("log") == ["1"]:
                state["sent_log"] = self.sent_log
            response = connection.respond(HTTPStatus.OK, json.dumps(state) + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        if url.path != WS_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        keys = parse_qs(url.query).get(WS_API_KEY_PARAM, [])
        if not keys or keys[0] not in self.api_keys:
            self.handshakes_refused += 1
            log.warning("%s handshake refused: missing or invalid %s", LOG_CG_EMULATOR, WS_API_KEY_PARAM)
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        client = Client(connection)
        self.clients.append(client)
        try:
            async for message in connection:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                client.received.append(text)
                self.client_messages.append(text)
                if text == WS_PING:
                    if self.answer_pings:
                        await connection.send(WS_PONG)
                    continue
                await self._on_request(client, text)
        except ConnectionClosed:
            pass
        finally:
            self.clients.remove(client)

    async def _on_request(self, client: Client, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            log.info("%s ignored non-JSON client message", LOG_CG_EMULATOR)
            return
        method = request.get("method") if isinstance(request, dict) else None
        channels = request.get("channels") if isinstance(request, dict) else None
        if (
            method not in ("subscribe", "unsubscribe")
            or not isinstance(channels, list)
            or not all(isinstance(c, str) for c in channels)
        ):
            log.info("%s ignored client message without method/channels", LOG_CG_EMULATOR)
            return
        if method == "subscribe":
            client.channels.update(channels)
        else:
            client.channels.difference_update(channels)
        async with self._subscribed:
            self._subscribed.notify_all()

    async def _replay(self) -> None:
        async with self._subscribed:
            await self._subscribed.wait_for(lambda: sum(1 for c in self.clients if c.channels) >= self.min_subscribers)
        await asyncio.sleep(self.start_delay_s)
        while True:
            await self._replay_once()
            self.replay_done.set()
            log.info("%s scenario replayed: %d frame(s) sent", LOG_CG_EMULATOR, self.frames_sent)
            if self.repeat_every_s is None:
                return
            await asyncio.sleep(self.repeat_every_s)

    async def _replay_once(self) -> None:
        assigned_times: dict[int, int] = {}
        for index, step in enumerate(self.steps):
            if self.live_times and step.action == "frame":
                step = live_frame(step, assigned_times, int(time.time() * 1000))
            if step.action == "pause":
                await asyncio.sleep(step.seconds)
            elif step.action == "drop":
                for client in list(self.clients):
                    client.connection.transport.abort()
            else:
                targets = [
                    c for c in self.clients if (step.channel in c.channels if step.action == "frame" else c.channels)
                ]
                delivered = False
                for client in targets:
                    if client.connection.transport.is_closing():
                        continue  # dropped a moment ago: the frame goes nowhere, as on a dead socket
                    try:
                        await client.connection.send(step.text)
                        delivered = True
                    except ConnectionClosed:
                        continue
                if delivered:
                    self.frames_sent += 1
                    self.sent_log.append((time.time(), index))


def main(argv: list[str] | None = None) -> int:
    parser = command_line("CoinGlass WebSocket emulator", 8765, "demo.jsonl")
    parser.add_argument("--api-key", action="append", required=True, help="a key the emulator accepts (repeatable)")
    parser.add_argument("--live-times", action="store_true", help="give each event the time its frame is sent")
    parser.add_argument(
        "--rest-key", action="append", help="a key the REST API accepts (repeatable; default: the --api-key values)"
    )
    parser.add_argument(
        "--rest-data",
        type=Path,
        default=DEFAULT_REST_DATA,
        help="JSON {path: data} served by the REST API, or a directory of doc-example fixtures",
    )
    parser.add_argument(
        "--plan-limit", type=int, default=DEFAULT_PLAN_LIMIT, help="the key's plan: REST requests per minute"
    )
    args = parser.parse_args(argv)
    return serve_until_interrupted(
        CoinGlassEmulator(
            load_scenario(args.scenario),
            set(args.api_key),
            args.host,
            args.port,
            args.min_subscribers,
            rest_keys=set(args.rest_key or args.api_key),
            rest_data=args.rest_data,
            live_times=args.live_times,
            repeat_every_s=args.repeat_every,
            plan_limit=args.plan_limit,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
