"""Dead letters: alerts Telegram would not take after every retry (5xx, network, a refused token, a bad
request, a chat that refuses the bot), and tasks that kept failing (TASK_MAX_RETRIES). They wait in Redis,
newest first, until an operator replays or purges them.

    python -m teleglas.ops.deadletters list [--json]
    python -m teleglas.ops.deadletters replay [--alert ID] [--chat CHAT]   # all when no filter is given
    python -m teleglas.ops.deadletters purge [--alert ID] [--chat CHAT]

A replay enqueues a fresh send with the same alert id, so a message that did reach the chat (a network
error after Telegram accepted it) is skipped rather than sent twice; a task is published again under its own
id, so what it had claimed (its events, a taken digest) is still its own.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from teleglas.defines import LOG_RUNNER
from teleglas.ops.logging_setup import process_settings
from teleglas.state.client import redis_client
from teleglas.state.deadletters import DeadLetters

_PREVIEW_CHARS = 60


def _selected(store: DeadLetters, alert: str | None, chat: str | None) -> list[tuple[bytes, dict]]:
    return [
        (raw, entry)
        for raw, entry in store.dead_letters()
        if (alert is None or entry.get("alert_id") == alert) and (chat is None or str(entry.get("chat_id")) == chat)
    ]


def _describe(entry: dict) -> str:
    when = datetime.fromtimestamp(entry.get("failed_at", 0), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if "alert_id" not in entry:
        return (
            f"{when}  task={entry['task']}[{entry.get('task_id')}]  {entry.get('reason')} "
            f"{entry.get('description', '')}  "
            f"attempts={entry.get('attempts', 0)}"
        )
    first_line = str(entry.get("text", "")).split("\n", 1)[0][:_PREVIEW_CHARS]
    return (
        f"{when}  chat={entry.get('chat_id')}  alert={entry.get('alert_id')}  {entry.get('reason')} "
        f"{entry.get('error_code') or ''} {entry.get('description', '')}  attempts={entry.get('attempts', 0)}  "
        f"text={first_line!r}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m teleglas.ops.deadletters", description="List, replay or purge undelivered alerts."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show the dead letters, newest first")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for name, text in (("replay", "send them again"), ("purge", "delete them")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--alert", help="only this alert id")
        command.add_argument("--chat", help="only this chat id")
    args = parser.parse_args(argv)
    settings = process_settings(LOG_RUNNER)
    if settings is None:
        return 2
    store = DeadLetters(redis_client(settings.redis.url))

    if args.command == "list":
        letters = store.dead_letters()
        for _, entry in letters:
            print(json.dumps(entry, ensure_ascii=False, sort_keys=True) if args.json else _describe(entry))
        if not args.json:
            print(f"{len(letters)} dead letter(s)")
        return 0

    selected = _selected(store, args.alert, args.chat)
    if args.command == "purge":
        removed = sum(store.remove_dead_letter(raw) for raw, _ in selected)
        print(f"purged {removed} dead letter(s)")
        return 0

    from teleglas.celery import app  # only a replay needs the broker

    replayed = 0
    for raw, entry in reversed(selected):  # oldest first, so a chat gets them in their original order
        # Each entry carries what to publish: a send's arguments, or a failed task's own (under its own id).
        app.send_task(entry["task"], args=entry["args"], kwargs=entry["kwargs"], task_id=entry.get("task_id"))
        store.remove_dead_letter(raw)
        replayed += 1
    print(f"replayed {replayed} dead letter(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
