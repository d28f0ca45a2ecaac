"""The sender's stages and its policy table against in-memory fakes (tests/support/fakes.py): every outcome of
one delivery attempt, in milliseconds. The same paths run against redis-server and the Telegram emulator in
tests/integration/test_sender.py."""

import time

import pytest

from teleglas.deliver import telegram as tg
from teleglas.deliver.sender import Sender, SendJob, Status
from teleglas.deliver.telegram import DeliveryError
from tests.support.fakes import FakeChats, FakeDeadLetters, FakeLedger, FakeLimiter, FakeTelegram
from tests.support.settings import make_settings

LONG_TEXT = "\n".join(
    f"<b>{i:03d}</b> BTCUSDT short liquidated on Binance for $1,250,000 at $56,738.00" for i in range(150)
)


class Parts:
    """A sender over fakes, and what each fake saw."""

    def __init__(self, **settings: str):
        self.ledger, self.chats, self.dead = FakeLedger(), FakeChats(), FakeDeadLetters()
        self.limiter, self.telegram, self.rechecks = FakeLimiter(self.ledger, self.chats), FakeTelegram(), []
        self.sender = Sender(
            self.telegram,
            self.ledger,
            self.chats,
            self.dead,
            self.limiter,  # type: ignore[arg-type]
            make_settings(**settings),
            sleep=lambda _s: None,
            recheck=self.rechecks.append,
        )

    def run(self, job: SendJob, owner: str = "task-1"):
        return self.sender.run(job, owner)


def error(reason: str, code: int = 400, description: str = "Bad Request", **extra) -> DeliveryError:
    return DeliveryError(reason, reason in (tg.RATE_LIMITED, tg.SERVER_ERROR, tg.NETWORK), description, code, **extra)


def test_a_sent_alert_is_recorded_and_a_second_copy_sends_nothing():
    parts = Parts()
    assert parts.run(SendJob(42, "<b>once</b>", "a-1")).status is Status.SENT
    again = parts.run(SendJob(42, "<b>once</b>", "a-1"), "task-2")
    assert (again.status, again.message_ids, len(parts.telegram.sent)) == (Status.ALREADY_SENT, (1,), 1)


def test_a_lease_held_elsewhere_means_come_back_not_send():
    parts = Parts()
    parts.ledger.leases[("a-1", 42)] = "other-task"
    outcome = parts.run(SendJob(42, "held", "a-1"))
    assert (outcome.status, outcome.delay_s, parts.telegram.sent) == (Status.LATER, 5.0, [])


def test_a_busy_chat_comes_back_with_its_slot():
    parts = Parts()
    parts.limiter.busy[42] = 2.5
    outcome = parts.run(SendJob(42, "wait", "a-1"))
    assert outcome.status is Status.LATER and outcome.delay_s == 2.5 and outcome.job.slot == 1002.5
    assert outcome.job.task_kwargs() == {"slot": 1002.5} and parts.telegram.sent == []


def test_a_429_pauses_the_bot_and_comes_back_after_retry_after():
    parts = Parts()
    parts.telegram.errors.append((42, error(tg.RATE_LIMITED, 429, "Too Many Requests", retry_after=3600.0)))
    outcome = parts.run(SendJob(42, "later", "a-1"))
    assert (outcome.status, outcome.delay_s, parts.limiter.pauses) == (Status.LATER, 3600.0, [3600.0])
    assert parts.dead.entries == []  # not a failure: Telegram said when to come back


def test_5xx_backs_off_then_dead_letters_after_the_retry_budget():
    parts = Parts(TELEGRAM_SEND_MAX_RETRIES="1")
    parts.telegram.errors += [(42, error(tg.SERVER_ERROR, 502, "Bad Gateway"))] * 2
    first = parts.run(SendJob(42, "flaky", "a-1"))
    assert first.status is Status.LATER and 1.5 <= first.delay_s <= 2.0 and first.job.failures == 1
    second = parts.run(first.job)
    assert second.status is Status.DEAD_LETTER and [e["reason"] for e in parts.dead.entries] == ["server_error"]


def test_403_disables_the_chat_asks_again_later_and_keeps_the_alert():
    parts = Parts()
    parts.telegram.errors.append((42, error(tg.FORBIDDEN, 403, "Forbidden: bot was blocked by the user")))
    assert parts.run(SendJob(42, "refused", "a-1")).status is Status.DEAD_LETTER
    assert parts.run(SendJob(42, "next", "a-2")).status is Status.DEAD_LETTER  # not even tried
    assert [(e["alert_id"], e["reason"]) for e in parts.dead.entries] == [
        ("a-2", "chat_disabled"),
        ("a-1", "forbidden"),
    ]
    assert parts.rechecks == [42] and len(parts.telegram.sent) == 0
    parts.sender.recheck_chat(42)  # the bot is welcome again
    assert parts.chats.disabled == {} and parts.run(SendJob(42, "back", "a-3")).status is Status.SENT


def test_a_migrated_group_is_sent_to_its_supergroup_at_once():
    parts = Parts()
    parts.telegram.errors.append((-4001, error(tg.CHAT_MIGRATED, 400, "group upgraded", migrate_to_chat_id=-1004001)))
    outcome = parts.run(SendJob(-4001, "moved", "a-1"))
    assert outcome.status is Status.SENT and outcome.job.chat_id == -1004001
    assert parts.telegram.sent == [(-1004001, "moved", True)] and parts.chats.migrations == {-4001: -1004001}


def test_bad_html_is_sent_again_as_plain_text():
    parts = Parts()
    parts.telegram.errors.append((42, error(tg.BAD_HTML, 400, "Bad Request: can't parse entities")))
    assert parts.run(SendJob(42, "a <b>bold</b> claim", "a-1")).status is Status.SENT
    assert parts.telegram.sent == [(42, "a bold claim", False)]


def test_a_re_split_after_part_one_sends_only_the_rest():
    parts = Parts()
    parts.telegram.on_call[2] = error(tg.TOO_LONG, 400, "Bad Request: message is too long")  # part 2 is refused
    assert parts.run(SendJob(42, LONG_TEXT, "long")).status is Status.SENT
    texts = [text for _, text, _ in parts.telegram.sent]
    assert parts.telegram.calls == len(texts) + 1  # one refusal, every part once
    assert len(texts) == len(set(texts)) >= 4 and "\n".join(texts) == LONG_TEXT
    first, *rest = texts
    assert len(first) > 2 * max(len(t) for t in rest) - 200  # part 1 kept its full size: only the rest was halved


def test_an_alert_long_after_its_news_says_it_is_delayed():
    parts = Parts()
    old = int(time.time() * 1000) - 3_700_000
    assert parts.run(SendJob(42, "🔥 news", "a-1", current_ms=old)).status is Status.SENT
    ((_, text, _),) = parts.telegram.sent
    assert text.startswith("⏳ <b>DELAYED 1 h 1 min</b> · this alert is from ") and text.endswith("\n🔥 news")


@pytest.mark.parametrize("text", ["", "<b></b>\n", "   "])
def test_nothing_visible_is_dropped_without_a_call(text):
    parts = Parts()
    assert parts.run(SendJob(42, text, "a-1")).status is Status.DROPPED and parts.telegram.sent == []


def test_a_refused_token_stops_every_send_into_the_dead_letters():
    parts = Parts()
    parts.telegram.errors.append((42, error(tg.UNAUTHORIZED, 401, "Unauthorized")))
    assert parts.run(SendJob(42, "one", "a-1")).status is Status.DEAD_LETTER and parts.chats.token_refused
    assert parts.run(SendJob(43, "two", "a-2")).status is Status.DEAD_LETTER and parts.telegram.sent == []


def test_every_reason_the_edge_can_give_has_a_reaction_or_is_dead_lettered():
    parts = Parts()
    parts.telegram.errors.append((42, error("something_new", 400, "Bad Request: something new")))
    assert parts.run(SendJob(42, "x", "a-1")).status is Status.DEAD_LETTER
    assert parts.dead.entries[0]["reason"] == "something_new"
