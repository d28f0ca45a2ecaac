"""A send with a chart through the real stages: real redis-server, the Telegram emulator in-process (real
sockets, multipart uploads), one Sender with the chart store."""

import io
import struct
import time
import zlib

import pytest
from PIL import Image

from teleglas.deliver import telegram as tg
from teleglas.deliver.ratelimit import RateLimiter, RateLimits
from teleglas.deliver.sender import Sender, SendJob, Status
from teleglas.deliver.telegram import DeliveryError, TelegramClient
from teleglas.devstack.emulators.telegram import Fault, FloodLimits, TelegramEmulator
from teleglas.state.charts import ChartStore
from tests.support.settings import make_settings

TOKEN = "100000004:senderPhotoTestTokenForTheEmulator"
STORM = "⚡ <b>LIQUIDATION STORM</b>\n📊 Symbol: BTCUSDT\n💥 9 liquidations · $2,736,000"


def png(width: int, height: int) -> bytes:
    """A real PNG of that size (PIL), small enough to build quickly."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (15, 20, 25)).save(buffer, "PNG")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """The signature and IHDR of a PNG of that size: what the emulator (and Telegram) read first."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def deliver(sender: Sender, job: SendJob):
    """Runs the job until it ends, waiting out each LATER as its due work would (a refused attempt took a slot)."""
    outcome = sender.run(job, "t1")
    while outcome.status is Status.LATER:
        time.sleep(outcome.delay_s)
        outcome = sender.run(outcome.job, "t1")
    return outcome


@pytest.fixture
def emulator():
    emu = TelegramEmulator({TOKEN}, limits=FloodLimits()).start()
    yield emu
    emu.stop()


@pytest.fixture
def charts(state):
    return ChartStore(state.redis, 60)


@pytest.fixture
def sender(emulator, state, charts):
    settings = make_settings(TELEGRAM_TIMEOUT="2", TELEGRAM_SEND_MAX_RETRIES="1")
    client = TelegramClient(emulator.url, TOKEN, settings.telegram.timeout_s)
    limiter = RateLimiter(state.redis, client.bot_id, RateLimits.from_settings(settings))
    return Sender(client, state.ledger, state.chats, state.dead_letters, limiter, settings, charts=charts)


def test_a_chart_goes_as_a_photo_with_the_text_as_caption_once(sender, emulator, charts):
    charts.put("chart-1", png(1200, 800))
    job = SendJob(42, STORM, "storm-1", photo="chart-1")
    assert sender.run(job, "t1").status is Status.SENT
    (message,) = emulator.messages
    assert (message["method"], message["text"], message["parse_mode"]) == ("sendPhoto", STORM, "HTML")
    assert message["photo"]["width"] == 1200 and emulator.photos[(42, 1)] == charts.get("chart-1")
    assert sender.run(job, "t2").status is Status.ALREADY_SENT and len(emulator.messages) == 1


def test_a_text_longer_than_a_caption_follows_the_photo(sender, emulator, charts):
    charts.put("chart-2", png(1200, 800))
    text = "⚡ <b>LIQUIDATION STORM</b>\n" + "\n".join(f"line {n} " + "x" * 40 for n in range(40))
    assert sender.run(SendJob(-1001, text, "storm-2", photo="chart-2"), "t1").status is Status.LATER  # group spacing
    (photo,) = emulator.messages  # the text waits for the group's next slot
    assert photo["method"] == "sendPhoto" and photo["text"] == "⚡ <b>LIQUIDATION STORM</b>"


def test_telegram_counting_the_caption_longer_gets_the_photo_then_the_text(sender, emulator, charts):
    charts.put("chart-3", png(1200, 800))
    emulator.add_fault(Fault(400, "Bad Request: message caption is too long", method="sendphoto"))
    assert deliver(sender, SendJob(7, STORM, "storm-3", photo="chart-3")).status is Status.SENT
    assert [(m["method"], m["text"]) for m in emulator.messages] == [
        ("sendPhoto", "⚡ <b>LIQUIDATION STORM</b>"),
        ("sendMessage", STORM),
    ]


@pytest.mark.parametrize(
    "description", ["Bad Request: PHOTO_INVALID_DIMENSIONS", "Bad Request: there is no photo in the request"]
)
def test_a_photo_telegram_refuses_becomes_the_text(sender, emulator, charts, description):
    charts.put("chart-4", png(1200, 800))
    emulator.add_fault(Fault(400, description, method="sendphoto"))
    assert deliver(sender, SendJob(8, STORM, "storm-4", photo="chart-4")).status is Status.SENT
    assert [(m["method"], m["text"]) for m in emulator.messages] == [("sendMessage", STORM)]


def test_an_expired_chart_sends_the_text(sender, emulator):
    assert sender.run(SendJob(9, STORM, "storm-5", photo="gone"), "t1").status is Status.SENT
    assert [m["method"] for m in emulator.messages] == ["sendMessage"]


def test_the_emulator_refuses_photos_as_the_bot_api_does(emulator):
    client = TelegramClient(emulator.url, TOKEN, 2)
    cases = [
        (png_header_only(9000, 1500), "", tg.PHOTO_REFUSED, "PHOTO_INVALID_DIMENSIONS"),  # width + height > 10000
        (png_header_only(4200, 200), "", tg.PHOTO_REFUSED, "PHOTO_INVALID_DIMENSIONS"),  # ratio > 20
        (b"GIF89a not a png", "", tg.PHOTO_REFUSED, "IMAGE_PROCESS_FAILED"),
        (png_header_only(100, 100) + bytes(10 * 1024 * 1024), "", tg.PHOTO_REFUSED, "PHOTO_SAVE_FILE_INVALID"),
        (png(10, 10), "x" * 1025, tg.CAPTION_TOO_LONG, "message caption is too long"),
        (png(10, 10), "<b>open", tg.BAD_HTML, "can't parse entities"),
    ]
    for n, (data, caption, reason, text) in enumerate(cases):
        with pytest.raises(DeliveryError) as refused:
            client.send_photo(100 + n, data, caption, html=True)
        assert refused.value.reason == reason and text in refused.value.description
    assert emulator.messages == []


def test_photos_and_texts_share_the_emulators_flood_limits(emulator):
    client = TelegramClient(emulator.url, TOKEN, 2)
    client.send(55, "a text", html=False)
    with pytest.raises(DeliveryError) as refused:
        client.send_photo(55, png(10, 10), "", html=True)
    assert refused.value.reason == tg.RATE_LIMITED and refused.value.retry_after >= 1
