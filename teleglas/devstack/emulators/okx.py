"""An OKX v5 public stream emulator, from OKX's pages (docs/protocols.md, Exchanges):

- `/ws/v5/public`; `{"op": "subscribe" | "unsubscribe", "args": [{"channel": ..., "instType" | "instId": ...}]}`
  → one `{"event": "subscribe", "arg": {...}, "connId": ...}` per arg (with the request's `id` when it has one);
  a request it cannot read → `{"event": "error", "code": "60012", "msg": "Invalid request: ...", "connId": ...}`;
- the text `ping` → `pong`; a connection the server sent nothing for `--idle-timeout` s (30) is closed;
- `GET /api/v5/public/instruments?instType=SWAP` → `{"code": "0", "msg": "", "data": [...]}` from
  `scenarios/okx_instruments.json` (contract values reconstructed: the page has no SWAP example).

Scenario frames are pushes (`{"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [...]}`),
delivered to the clients subscribed to that channel and instType or instId; a notice (64008) is a `raw` step.

    python -m teleglas.devstack.emulators.okx --port 8768 --scenario okx.jsonl
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from teleglas.devstack.emulators.exchange_base import Client, ExchangeEmulator, command_line, serve_until_interrupted
from teleglas.devstack.emulators.scenario import BUNDLED, load_scenario

INSTRUMENTS = BUNDLED / "okx_instruments.json"


def _topic(arg: dict[str, Any]) -> str | None:
    channel, target = arg.get("channel"), arg.get("instType") or arg.get("instId")
    return f"{channel}:{target}" if isinstance(channel, str) and isinstance(target, str) else None


class OkxEmulator(ExchangeEmulator):
    name = "okx"
    ws_paths = ("/ws/v5/public",)

    def __init__(self, *args, idle_timeout_s: float = 30.0, instruments: Path = INSTRUMENTS, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle_timeout_s = idle_timeout_s
        self.instruments = json.loads(instruments.read_text(encoding="utf-8"))["data"]
        self.rest_requests: list[str] = []

    def status(self) -> dict[str, Any]:
        return {**super().status(), "rest_requests": self.rest_requests}

    def rest(self, path: str, query: dict[str, str]) -> tuple[int, Any] | None:
        if path != "/api/v5/public/instruments":
            return None
        self.rest_requests.append(path)
        kind = query.get("instType")
        if kind is None:
            return 200, {"code": "50014", "msg": "Parameter instType can not be empty", "data": []}
        return 200, {"code": "0", "msg": "", "data": [i for i in self.instruments if i["instType"] == kind]}

    async def on_message(self, client: Client, text: str) -> None:
        if text == "ping":
            await self.send(client, "pong")
            return
        try:
            request = json.loads(text)
            op, args = request["op"], request["args"]
            topics = [topic for topic in map(_topic, args) if topic is not None]
            if op not in ("subscribe", "unsubscribe") or len(topics) != len(args):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            await self.send(
                client,
                json.dumps(
                    {"event": "error", "code": "60012", "msg": f"Invalid request: {text[:200]}", "connId": "e0"}
                ),
            )
            return
        for arg, topic in zip(args, topics):
            if op == "subscribe":
                client.topics.add(topic)
            else:
                client.topics.discard(topic)
            ack = {"event": op, "arg": arg, "connId": "e0"}
            await self.send(client, json.dumps({"id": request["id"], **ack} if "id" in request else ack))
        await self.subscribed()

    def topics_of(self, frame: Any) -> set[str]:
        topic = _topic(frame["arg"])
        return {topic} if topic else set()

    async def watch(self, client: Client) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout_s))
            if time.monotonic() - client.last_sent > self.idle_timeout_s:
                await client.connection.close(1000, "no data for 30 s")
                return


def main(argv: list[str] | None = None) -> int:
    parser = command_line("OKX v5 public stream emulator", 8768, "okx.jsonl")
    parser.add_argument("--idle-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    return serve_until_interrupted(
        OkxEmulator(
            load_scenario(args.scenario),
            args.host,
            args.port,
            args.min_subscribers,
            repeat_every_s=args.repeat_every,
            idle_timeout_s=args.idle_timeout,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
