"""The send stages without Celery: real redis-server, the Telegram emulator in-process, one Sender."""
import time

import pytest

from teleglas.delivery.ratelimit import RateLimiter, RateLimits
from teleglas.delivery.sender import ALREADY_SENT, DEAD_LETTER, DROPPED, RESCHEDULE, SENT, Sender, SendJob
from teleglas.delivery.telegram import TelegramClient
from teleglas.emulators.telegram import Fault, FloodLimits, TelegramEmulator
from tests.conftest import make_settings

TOKEN = "100000003:senderStageTestTokenForTheEmulator"


@pytest.fixture
def emulator():
    emu = TelegramEmulator({TOKEN}, limits=FloodLimits()).start()
    yield emu
    emu.stop()


@pytest.fixture
def sender(emulator, store):
    settings = make_settings(TELEGRAM_TIMEOUT="2", TELEGRAM_SEND_MAX_RETRIES="1")
    client = TelegramClient(emulator.url, TOKEN, settings.telegram_timeout_s)
    return Sender(client, store, RateLimiter(store.redis, client.bot_id, RateLimits.from_settings(settings)), settings)


def test_a_second_run_of_a_delivered_job_sends_nothing(sender, emulator):
    job = SendJob(42, "<b>once</b>", "alert-1")
    assert sender.run(job, "task-1").status == SENT
    again = sender.run(job, "task-2")
    assert (again.status, again.message_ids) == (ALREADY_SENT, (1,))
    assert len(emulator.messages) == 1


def test_a_send_in_flight_elsewhere_is_waited_for_not_duplicated(sender, emulator, store):
    job = SendJob(42, "held by a worker that died", "alert-2")
    assert store.claim_delivery("alert-2", 42, "dead-task", 0.4)
    waiting = sender.run(job, "task-2")
    assert waiting.status == RESCHEDULE and 0.2 < waiting.countdown <= 0.4 and emulator.messages == []
    time.sleep(waiting.countdown + 0.05)  # the dead sender's lease runs out
    assert sender.run(waiting.job, "task-2").status == SENT and len(emulator.messages) == 1


def test_a_busy_chat_reschedules_with_a_held_slot(sender, emulator):
    assert sender.run(SendJob(42, "first", "a"), "t1").status == SENT
    second = sender.run(SendJob(42, "second", "b"), "t2")
    assert second.status == RESCHEDULE and second.job.slot is not None and 0.9 < second.countdown <= 1.1
    assert second.job.task_kwargs() == {"slot": second.job.slot}  # what the Celery retry carries
    assert len(emulator.messages) == 1


def test_401_stops_every_send_until_the_token_works_again(sender, emulator, store):
    emulator.add_fault(Fault(401, "Unauthorized"))
    first = sender.run(SendJob(42, "refused", "alert-3"), "t1")
    assert first.status == DEAD_LETTER
    calls = len(emulator.calls)
    second = sender.run(SendJob(43, "not even tried", "alert-4"), "t2")
    assert second.status == DEAD_LETTER and len(emulator.calls) == calls  # no call while the token is refused
    assert [e["reason"] for _, e in store.dead_letters()] == ["unauthorized", "unauthorized"]
    assert store.clear_token_invalid(sender.client.token_key)  # what a worker start does after getMe succeeds
    assert sender.run(SendJob(43, "sent again", "alert-4"), "t3").status == SENT


def test_empty_text_is_dropped_without_a_call(sender, emulator):
    assert sender.run(SendJob(42, "<b></b>\n", "alert-5"), "t1").status == DROPPED
    assert emulator.calls == []


def test_a_missing_token_dead_letters_instead_of_crashing(emulator, store):
    settings = make_settings()
    client = TelegramClient(emulator.url, "", settings.telegram_timeout_s)
    sender = Sender(client, store, RateLimiter(store.redis, client.bot_id, RateLimits.from_settings(settings)), settings)
    outcome = sender.run(SendJob(42, "no token configured", "alert-6"), "t1")
    assert outcome.status == DEAD_LETTER and emulator.calls == []
    assert "TELEGRAM_ALERT_TOKEN is missing" in store.dead_letters()[0][1]["description"]
