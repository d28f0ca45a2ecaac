"""A Bybit v5 public linear stream emulator, from Bybit's pages (docs/protocols.md, Exchanges):

- `/v5/public/linear`; `{"op": "subscribe" | "unsubscribe", "args": [...], "req_id": ...}` → the linear ack
  `{"success": true, "ret_msg": "", "conn_id": ..., "req_id": ..., "op": "subscribe"}`; args that are not a list
  of topic strings → the same object with `"success": false` and a reason (the page shows no failure: ASSUMED);
- `{"op": "ping"}` → `{"success": true, "ret_msg": "pong", "conn_id": ..., "req_id": ..., "op": "ping"}`;
- a connection without a ping for `--idle-timeout` s (600: "cut off after 10 minutes") is closed.

Scenario frames are pushes (`{"topic": "allLiquidation.BTCUSDT", ...}`), delivered to the clients subscribed to
their topic.

    python -m teleglas.devstack.emulators.bybit --port 8767 --scenario bybit.jsonl
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from teleglas.devstack.emulators.exchange_base import Client, ExchangeEmulator, command_line, serve_until_interrupted
from teleglas.devstack.emulators.scenario import load_scenario


class BybitEmulator(ExchangeEmulator):
    name = "bybit"
    ws_paths = ("/v5/public/linear",)

    def __init__(self, *args, idle_timeout_s: float = 600.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle_timeout_s = idle_timeout_s
        self.pings_answered = 0

    def status(self) -> dict[str, Any]:
        return {**super().status(), "pings_answered": self.pings_answered}

    async def on_message(self, client: Client, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            return
        if not isinstance(request, dict):
            return
        op, req_id = request.get("op"), request.get("req_id", "")
        answer = {"success": True, "ret_msg": "", "conn_id": self._conn_id(client), "req_id": req_id, "op": op}
        if op == "ping":
            client.last_heard = time.monotonic()
            self.pings_answered += 1
            await self.send(client, json.dumps({**answer, "ret_msg": "pong"}))
            return
        if op not in ("subscribe", "unsubscribe"):
            return
        args = request.get("args")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            await self.send(client, json.dumps({**answer, "success": False, "ret_msg": "error:args must be a list"}))
            return
        if op == "subscribe":
            client.topics.update(args)
        else:
            client.topics.difference_update(args)
        await self.send(client, json.dumps(answer))
        await self.subscribed()

    @staticmethod
    def _conn_id(client: Client) -> str:
        return str(uuid.UUID(int=id(client)))

    def topics_of(self, frame: Any) -> set[str]:
        return {frame["topic"]}

    async def watch(self, client: Client) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout_s))
            if time.monotonic() - client.last_heard > self.idle_timeout_s:
                await client.connection.close(1000, "no ping")
                return


def main(argv: list[str] | None = None) -> int:
    parser = command_line("Bybit v5 public linear stream emulator", 8767, "bybit.jsonl")
    parser.add_argument("--idle-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    return serve_until_interrupted(
        BybitEmulator(
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
