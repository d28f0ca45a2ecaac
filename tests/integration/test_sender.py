"""The send stages without Celery: real redis-server, the Telegram emulator in-process, one Sender."""

import threading
import time

import pytest

from teleglas.deliver.ratelimit import RateLimiter, RateLimits
from teleglas.deliver.sender import Sender, SendJob, Status
from teleglas.deliver.telegram import TelegramClient
from teleglas.devstack.emulators.telegram import Fault, FloodLimits, TelegramEmulator
from teleglas.devstack.local_stack import wait_until
from tests.support.settings import make_settings
from tests.support.state import take_lease

TOKEN = "100000003:senderStageTestTokenForTheEmulator"


@pytest.fixture
def emulator():
    emu = TelegramEmulator({TOKEN}, limits=FloodLimits()).start()
    yield emu
    emu.stop()


def make_sender(client, state, settings, **kwargs) -> Sender:
    limiter = RateLimiter(state.redis, client.bot_id, RateLimits.from_settings(settings))
    return Sender(client, state.ledger, state.chats, state.dead_letters, limiter, settings, **kwargs)


@pytest.fixture
def sender(emulator, state):
    settings = make_settings(TELEGRAM_TIMEOUT="2", TELEGRAM_SEND_MAX_RETRIES="1")
    client = TelegramClient(emulator.url, TOKEN, settings.telegram.timeout_s)
    return make_sender(client, state, settings)


def test_a_second_run_of_a_delivered_job_sends_nothing(sender, emulator):
    job = SendJob(42, "<b>once</b>", "alert-1")
    assert sender.run(job, "task-1").status is Status.SENT
    again = sender.run(job, "task-2")
    assert (again.status, again.message_ids) == (Status.ALREADY_SENT, (1,))
    assert len(emulator.messages) == 1


def test_a_send_in_flight_elsewhere_is_waited_for_not_duplicated(sender, emulator, state):
    job = SendJob(42, "held by a worker that died", "alert-2")
    assert take_lease(state.redis, "alert-2", 42, "dead-task", 2.0)
    waiting = sender.run(job, "task-2")
    assert waiting.status is Status.LATER and 0 < waiting.delay_s <= 2.0 and emulator.messages == []
    wait_until(  # the dead sender's lease runs out
        lambda: state.ledger.delivery_state("alert-2", 42).sending_owner is None, 10, 0.05, what="the lease to end"
    )
    assert sender.run(waiting.job, "task-2").status is Status.SENT and len(emulator.messages) == 1


def test_a_busy_chat_reschedules_with_a_held_slot(sender, emulator):
    assert sender.run(SendJob(42, "first", "a"), "t1").status is Status.SENT
    second = sender.run(SendJob(42, "second", "b"), "t2")
    assert second.status is Status.LATER and second.job.slot is not None and 0.9 < second.delay_s <= 1.1
    assert second.job.task_kwargs() == {"slot": second.job.slot}  # what the due task carries
    assert len(emulator.messages) == 1


def test_401_stops_every_send_until_the_token_works_again(sender, emulator, state):
    emulator.add_fault(Fault(401, "Unauthorized"))
    first = sender.run(SendJob(42, "refused", "alert-3"), "t1")
    assert first.status is Status.DEAD_LETTER
    calls = len(emulator.calls)
    second = sender.run(SendJob(43, "not even tried", "alert-4"), "t2")
    assert second.status is Status.DEAD_LETTER and len(emulator.calls) == calls  # no call while the token is refused
    assert [e["reason"] for _, e in state.dead_letters.dead_letters()] == ["unauthorized", "unauthorized"]
    assert state.chats.clear_token_invalid(sender.client.token_key)  # what a worker start does after getMe succeeds
    assert sender.run(SendJob(43, "sent again", "alert-4"), "t3").status is Status.SENT


def test_empty_text_is_dropped_without_a_call(sender, emulator):
    assert sender.run(SendJob(42, "<b></b>\n", "alert-5"), "t1").status is Status.DROPPED
    assert emulator.calls == []


def test_a_missing_token_dead_letters_instead_of_crashing(emulator, state):
    settings = make_settings()
    client = TelegramClient(emulator.url, "", settings.telegram.timeout_s)
    sender = make_sender(client, state, settings)
    outcome = sender.run(SendJob(42, "no token configured", "alert-6"), "t1")
    assert outcome.status is Status.DEAD_LETTER and emulator.calls == []
    assert "TELEGRAM_ALERT_TOKEN is missing" in state.dead_letters.dead_letters()[0][1]["description"]


def test_a_send_long_after_its_news_says_it_is_delayed(sender, emulator):
    now_ms = int(time.time() * 1000)
    assert sender.run(SendJob(42, "🔥 <b>fresh</b>", "fresh", current_ms=now_ms - 5_000), "t1").status is Status.SENT
    late = sender.run(SendJob(43, "🔥 <b>late</b>", "late", current_ms=now_ms - 7 * 60_000), "t2")
    assert late.status is Status.SENT
    fresh_text, late_text = (m["text"] for m in emulator.messages)
    assert fresh_text == "🔥 <b>fresh</b>"
    first, rest = late_text.split("\n", 1)
    assert first.startswith("⏳ <b>DELAYED 7 min</b> · this alert is from ") and rest == "🔥 <b>late</b>"


def _long_text(lines: int = 150) -> str:
    return "\n".join(
        f"<b>{i:03d}</b> BTCUSDT short liquidated on Binance for $1,250,000 at $56,738.00" for i in range(lines)
    )


def _send_all(sender, job, owner):
    """Runs the job as the task would, coming back whenever the sender asks, until it is done."""
    while True:
        outcome = sender.run(job, owner)
        if outcome.status is not Status.LATER:
            return outcome
        time.sleep(outcome.delay_s)
        job = outcome.job


@pytest.mark.parametrize(
    "refusal", ["Bad Request: message is too long", "Bad Request: can't parse entities: unsupported start tag"]
)
def test_a_text_split_again_after_part_one_went_out_does_not_send_part_one_twice(sender, emulator, refusal):
    text = _long_text()
    first = sender.run(SendJob(42, text, "long"), "t1")
    assert (
        first.status is Status.LATER and len(emulator.messages) == 1
    )  # part 1 sent; part 2 waits for the chat's next slot
    emulator.add_fault(Fault(400, refusal))  # Telegram refuses part 2: smaller parts, or plain text, for the rest
    done = _send_all(sender, first.job, "t1")
    assert done.status is Status.SENT
    texts = [m["text"] for m in emulator.messages]
    assert len(texts) == len(set(texts)) >= 3  # nothing twice
    plain = [line.replace("<b>", "").replace("</b>", "") for line in "\n".join(texts).split("\n")]
    assert plain == [
        line.replace("<b>", "").replace("</b>", "") for line in text.split("\n")
    ]  # every line once, in order
    again = sender.run(SendJob(42, text, "long"), "t2")  # a copy of the task: every part is recorded
    assert again.status is Status.ALREADY_SENT and len(again.message_ids) == len(texts)
    assert len(emulator.messages) == len(texts)


def test_a_lease_outlives_a_request_slower_than_the_lease(emulator, state):
    """A read timeout counts per read: an answer that trickles in takes longer than any sum of timeouts. The
    lease is renewed while the request is in flight, so a second copy of the task waits instead of sending."""
    settings = make_settings(TELEGRAM_TIMEOUT="1")  # lease 2 × 1 + 5 = 7 s
    client = TelegramClient(emulator.url, TOKEN, settings.telegram.timeout_s)
    first = make_sender(client, state, settings)
    emulator.add_fault(Fault(slow_s=16.0))  # the answer ends far after the check below, even on a loaded machine
    result: list = []
    thread = threading.Thread(target=lambda: result.append(first.run(SendJob(42, "slow", "slow-1"), "copy-a")))
    thread.start()
    wait_until(
        lambda: state.ledger.delivery_state("slow-1", 42).sending_owner == "copy-a",
        5,
        0.05,
        what="the first copy to claim",
    )
    time.sleep(8.5)  # past the lease's first length (7 s): only renewal keeps it
    second = make_sender(client, state, settings)
    waiting = second.run(SendJob(42, "slow", "slow-1"), "copy-b")
    assert waiting.status is Status.LATER and state.ledger.delivery_state("slow-1", 42).sending_owner == "copy-a"
    thread.join(25)
    assert result[0].status is Status.SENT
    assert second.run(waiting.job, "copy-b").status is Status.ALREADY_SENT
    assert len(emulator.messages) == 1


def test_a_refused_chat_is_disabled_its_alerts_kept_and_it_heals_when_the_bot_is_back(emulator, state):
    settings = make_settings()
    client = TelegramClient(emulator.url, TOKEN, settings.telegram.timeout_s)
    rechecks: list = []
    sender = make_sender(client, state, settings, recheck=rechecks.append)
    emulator.set_chat_states(blocked=[-1009001])
    assert sender.run(SendJob(-1009001, "refused", "d-1"), "t1").status is Status.DEAD_LETTER
    assert sender.run(SendJob(-1009001, "not tried", "d-2"), "t2").status is Status.DEAD_LETTER
    assert [(e["alert_id"], e["reason"]) for _, e in state.dead_letters.dead_letters()] == [
        ("d-2", "chat_disabled"),
        ("d-1", "forbidden"),
    ]
    assert rechecks == [-1009001]  # asked again later (due work), once
    sender.recheck_chat(-1009001)  # still kicked: asked again later
    assert rechecks == [-1009001, -1009001] and -1009001 in state.chats.disabled_chats()
    emulator.set_chat_states(unblocked=[-1009001])  # the bot is re-added
    sender.recheck_chat(-1009001)
    assert state.chats.disabled_chats() == {} and len(rechecks) == 2
    assert _send_all(sender, SendJob(-1009001, "back", "d-3"), "t3").status is Status.SENT
