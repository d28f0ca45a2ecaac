"""The state Telegram gave the alert chats: disabled after a 403 or "chat not found", moved after a
group → supergroup upgrade. An operator lists it and re-enables a chat once the bot is back in it.

    python -m teleglas.ops.chats list
    python -m teleglas.ops.chats enable CHAT_ID
"""

from __future__ import annotations

import argparse
import sys

from teleglas.defines import LOG_RUNNER
from teleglas.model.chat import parse_chat_id
from teleglas.ops.logging_setup import process_settings
from teleglas.state.chats import ChatState
from teleglas.state.client import redis_client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m teleglas.ops.chats", description="Disabled and migrated alert chats."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="disabled chats and chat migrations")
    enable = sub.add_parser("enable", help="send to a disabled chat again")
    enable.add_argument("chat_id")
    args = parser.parse_args(argv)
    settings = process_settings(LOG_RUNNER)
    if settings is None:
        return 2
    store = ChatState(redis_client(settings.redis.url))

    if args.command == "enable":
        try:
            chat = parse_chat_id(args.chat_id)
        except ValueError:
            print(f"not a chat id: {args.chat_id!r}", file=sys.stderr)
            return 2
        if not store.enable_chat(chat):
            print(f"chat {chat} was not disabled")
            return 1
        print(f"chat {chat} enabled")
        return 0

    disabled = store.disabled_chats()
    for chat, fields in sorted(disabled.items(), key=lambda item: str(item[0])):
        print(f"disabled  chat={chat}  since={fields.get('since', '?')}  reason={fields.get('reason', '')}")
    for old, new in sorted(store.chat_migrations().items(), key=lambda item: str(item[0])):
        print(f"migrated  chat={old} -> {new}")
    print(f"{len(disabled)} disabled chat(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
