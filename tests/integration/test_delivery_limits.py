"""300 alerts to 3 chats through 2 workers against the emulator's real flood limits: no 429, spacing kept, each once.

About 140 s: 130 alerts to one private chat cannot leave faster than Telegram's 1 message/s per chat.
"""

import itertools
import random
from collections import Counter

from teleglas.devstack.local_stack import wait_until
from tests.support.messages import max_in_window

PRIVATE_A, PRIVATE_B, GROUP = 7101, 7102, -1007103
PLAN = {PRIVATE_A: 130, PRIVATE_B: 130, GROUP: 40}


def test_300_alerts_to_3_chats_through_2_workers_stay_inside_telegrams_limits(make_stack):
    stack = make_stack()
    stack.start_redis()
    stack.start_telegram_emulator()
    stack.start_worker("worker-a")
    stack.start_worker("worker-b")
    chats = list(itertools.chain.from_iterable(itertools.repeat(chat, n) for chat, n in PLAN.items()))
    random.Random(6).shuffle(chats)  # the chats interleaved, the same way every run
    sent = []
    for number, chat in enumerate(chats):
        alert_id = f"bulk-{number:03d}"
        stack.enqueue_send(chat, f"<b>alert {number:03d}</b> for {chat}", alert_id)
        sent.append((chat, f"<b>alert {number:03d}</b> for {chat}"))
    assert len(sent) == 300

    wait_until(lambda: len(stack.telegram_messages()) >= 300, 240, 0.5, what="300 messages")
    messages = stack.wait_for_idle()

    assert Counter((m["chat_id"], m["text"]) for m in messages) == Counter(sent)  # every alert once
    statuses = Counter(c["status"] for c in stack.telegram_calls() if c["method"] == "sendmessage")
    assert statuses == {200: 300}, statuses  # not a single 429
    for chat in PLAN:
        times = sorted(m["received_at"] for m in messages if m["chat_id"] == chat)
        assert min(b - a for a, b in zip(times, times[1:])) >= 1.0, chat
    group_times = [m["received_at"] for m in messages if m["chat_id"] == GROUP]
    assert max_in_window(group_times, 60.0) <= 20
    assert max_in_window([m["received_at"] for m in messages], 1.0) <= 30
    # Both workers sent: the limit held across processes, not inside one.
    for name in ("worker-a", "worker-b"):
        assert stack.processes[name].log_text().count("[SENDER] delivered") > 0, name
