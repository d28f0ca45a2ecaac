"""Talking to the manual bot through the Telegram emulator: send a user's message, read the bot's replies."""

from teleglas.devstack.local_stack import DEMO_ALERT_TOKEN, DEMO_MANUAL_TOKEN, wait_until

MANUAL_BOT = int(DEMO_MANUAL_TOKEN.split(":")[0])
ALERT_BOT = int(DEMO_ALERT_TOKEN.split(":")[0])
ALLOWED = 11111  # the user id the manual bot tests put in TELEGRAM_ALLOWED_USER_IDS


def bot_replies(stack, chat_id, bot=MANUAL_BOT) -> list[str]:
    return [m["text"] for m in stack.telegram_messages() if m["bot_id"] == bot and m["chat_id"] == chat_id]


def ask(stack, text, chat_id=ALLOWED, user_id=ALLOWED, reply_chat=None, timeout_s=15) -> str:
    """Sends `text` as the user and returns the bot's reply (the next message it sends to that chat)."""
    reply_chat = chat_id if reply_chat is None else reply_chat
    before = len(bot_replies(stack, reply_chat))
    stack.send_user_message(text, chat_id, user_id)
    wait_until(lambda: len(bot_replies(stack, reply_chat)) > before, timeout_s, what=f"a reply to {text!r}")
    replies = bot_replies(stack, reply_chat)
    assert len(replies) == before + 1, replies[before:]
    return replies[-1]
