"""What the three exchange emulators share (binance.py, bybit.py, okx.py): a websockets server on loopback that
replays a scenario (teleglas.devstack.emulators.scenario: frame, raw, pause, drop) to the clients subscribed to
each frame's topic, and answers `GET /_emulator/status`. Each venue module says which paths it serves, how a
client subscribes and keeps the line alive, and which topic a frame belongs to; written from the exchanges'
docs (docs/protocols.md, Exchanges), it shares no code with the clients it tests.

`/_emulator/status` (JSON): `replay_done`, `frames_sent`, `clients` (connected now), `connections` (accepted
since start), `subscriptions` (each connected client's topics), `client_messages` (everything any client sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from teleglas.devstack.emulators.scenario import Step

log = logging.getLogger(__name__)
LOG_EX_EMULATOR = "[EX_EMULATOR]"


@dataclass
class Client:
    connection: ServerConnection
    path: str
    query: dict[str, list[str]]
    topics: set[str] = field(default_factory=set)
    connected_at: float = field(default_factory=time.monotonic)
    last_sent: float = field(default_factory=time.monotonic)  # anything the server sent (OKX's idle rule)
    last_heard: float = field(default_factory=time.monotonic)  # a client heartbeat (Bybit's idle rule)
    recent: list[float] = field(default_factory=list)  # when its last messages came (Binance's rate limit)


class ExchangeEmulator:
    name = "exchange"
    ws_paths: tuple[str, ...] = ()

    def __init__(
        self,
        steps: list[Step],
        host: str = "127.0.0.1",
        port: int = 0,
        min_subscribers: int = 1,
        start_delay_s: float = 0.2,
        repeat_every_s: float | None = None,
    ):
        self.steps = steps
        self.host = host
        self.port = port
        self.min_subscribers = min_subscribers
        self.start_delay_s = start_delay_s
        self.repeat_every_s = repeat_every_s
        self.clients: list[Client] = []
        self.client_messages: list[str] = []
        self.connections = 0
        self.frames_sent = 0
        self.replay_done = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._subscribed = asyncio.Condition()
        self._step_topics: dict[str, set[str]] = {}

    # -- what each venue says -------------------------------------------------------------------------------

    async def on_message(self, client: Client, text: str) -> None:
        raise NotImplementedError

    def topics_of(self, frame: Any) -> set[str]:
        """The subscriptions a data frame goes to."""
        raise NotImplementedError

    def wrap(self, client: Client, topic: str, text: str) -> str:
        """The frame as this client receives it (Binance's combined streams wrap it)."""
        return text

    def route_serves(self, client: Client, topic: str) -> bool:
        """Whether the client's URL path carries this topic at all (Binance's routes)."""
        return True

    async def watch(self, client: Client) -> None:
        """Per-connection upkeep (server pings, idle cuts, age limits); runs until the connection ends."""

    def rest(self, path: str, query: dict[str, str]) -> tuple[int, Any] | None:
        """A REST answer for `path`, or None when this emulator serves no such path."""
        return None

    # -- server -----------------------------------------------------------------------------------------------

    def url(self, path: str | None = None) -> str:
        return f"ws://{self.host}:{self.port}{path or self.ws_paths[0]}"

    def start(self) -> ExchangeEmulator:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.serve()), name=f"{self.name}-emulator", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.name} emulator did not start")
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
            log.info("%s %s listening on %s", LOG_EX_EMULATOR, self.name, self.url())
            self._ready.set()
            replay = asyncio.create_task(self._replay())
            await self._stop.wait()
            replay.cancel()

    def status(self) -> dict[str, Any]:
        return {
            "replay_done": self.replay_done.is_set(),
            "frames_sent": self.frames_sent,
            "clients": len(self.clients),
            "connections": self.connections,
            "subscriptions": [sorted(c.topics) for c in self.clients],
            "client_messages": self.client_messages,
        }

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/_emulator/status":
            return self._json(connection, 200, self.status())
        if url.path in self.ws_paths:
            return None
        answer = self.rest(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
        if answer is not None:
            return self._json(connection, *answer)
        return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

    @staticmethod
    def _json(connection: ServerConnection, status: int, body: Any) -> Response:
        response = connection.respond(HTTPStatus(status), json.dumps(body) + "\n")
        response.headers["Content-Type"] = "application/json"
        return response

    async def send(self, client: Client, text: str) -> None:
        await client.connection.send(text)
        client.last_sent = time.monotonic()

    async def subscribed(self) -> None:
        """Tells the replay that subscriptions changed."""
        async with self._subscribed:
            self._subscribed.notify_all()

    async def _handle(self, connection: ServerConnection) -> None:
        if connection.request is None:  # the handshake failed: nothing to serve
            return
        url = urlsplit(connection.request.path)
        client = Client(connection, url.path, parse_qs(url.query))
        self.clients.append(client)
        self.connections += 1
        upkeep = asyncio.create_task(self.watch(client))
        try:
            await self.on_connect(client)
            async for message in connection:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self.client_messages.append(text)
                client.recent = [t for t in client.recent if time.monotonic() - t < 1.0] + [time.monotonic()]
                await self.on_message(client, text)
        except ConnectionClosed:
            pass
        finally:
            upkeep.cancel()
            self.clients.remove(client)

    async def on_connect(self, client: Client) -> None:
        """Subscriptions given in the URL (Binance's combined streams)."""

    async def _replay(self) -> None:
        async with self._subscribed:
            await self._subscribed.wait_for(lambda: sum(1 for c in self.clients if c.topics) >= self.min_subscribers)
        await asyncio.sleep(self.start_delay_s)
        while True:
            await self._replay_once()
            self.replay_done.set()
            log.info("%s %s scenario replayed: %d frame(s) sent", LOG_EX_EMULATOR, self.name, self.frames_sent)
            if self.repeat_every_s is None:
                return
            await asyncio.sleep(self.repeat_every_s)

    async def _replay_once(self) -> None:
        for step in self.steps:
            if step.action == "pause":
                await asyncio.sleep(step.seconds)
                continue
            if step.action == "drop":
                for client in list(self.clients):
                    client.connection.transport.abort()
                continue
            topics = self._topics(step) if step.action == "frame" else None
            delivered = False
            for client in list(self.clients):
                if client.connection.transport.is_closing() or not client.topics:
                    continue
                text = step.text
                if topics is not None:
                    topic = next(
                        (t for t in sorted(topics) if t in client.topics and self.route_serves(client, t)), None
                    )
                    if topic is None:
                        continue
                    text = self.wrap(client, topic, text)
                try:
                    await self.send(client, text)
                    delivered = True
                except ConnectionClosed:
                    continue
            if delivered:
                self.frames_sent += 1

    def _topics(self, step: Step) -> set[str]:
        if step.text not in self._step_topics:  # a scenario played again costs no second parse
            try:
                self._step_topics[step.text] = self.topics_of(json.loads(step.text))
            except (ValueError, AttributeError, TypeError, KeyError):
                self._step_topics[step.text] = set()
        return self._step_topics[step.text]


def command_line(description: str, port: int, scenario: str) -> argparse.ArgumentParser:
    """The options every emulator's `python -m` takes; each venue adds its own after these."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--scenario", default=scenario, help="scenario file (bundled name or path)")
    parser.add_argument("--min-subscribers", type=int, default=1)
    parser.add_argument(
        "--repeat-every", type=float, default=None, help="replay the scenario again this many seconds after each replay"
    )
    return parser


def serve_until_interrupted(emulator: Any) -> int:
    """Runs an emulator in the foreground until Ctrl-C, logging to stderr."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(emulator.serve())
    except KeyboardInterrupt:
        pass
    return 0
