"""Chart specs, the digest's cascade chart, the caption fit of a photo send, the photo refusals' classes and the
renderer's PNGs."""

import io
import os
import time

import pytest
from PIL import Image

from teleglas.charts import render
from teleglas.charts.apart import RenderFailed, RenderTimedOut, render_apart
from teleglas.decide.fanout import cascade_chart
from teleglas.defines import CHART_NICE
from teleglas.deliver import telegram as tg
from teleglas.deliver.message_split import START
from teleglas.deliver.stages import PHOTO, Attempt, Fit, Part, SendJob, part_id
from teleglas.deliver.telegram import _by_status
from teleglas.model.charts import ChartKind, ChartSpec, ChartSpecError, LiquidationBars, chart_for
from tests.support.settings import make_settings

ZONE = make_settings().timezone


def test_a_chart_spec_survives_its_task_payload_and_refuses_anything_else():
    spec = chart_for(ChartKind.STORM, ("BTCUSDT",), 1_000_000, 1_060_000)
    assert ChartSpec.from_payload(spec.to_payload()) == spec
    assert spec.start_ms == 1_000_000 - 120_000 and spec.end_ms == 1_080_000  # twice the span before, 20 s after
    assert chart_for(ChartKind.STORM, ("X",), 5_000_000, 5_000_000).start_ms == 5_000_000 - 60_000
    for bad in (
        None,
        [],
        {"kind": "pie"},
        {**spec.to_payload(), "symbols": []},
        {**spec.to_payload(), "end_ms": 0},
        {**spec.to_payload(), "start_ms": True},
        {**spec.to_payload(), "symbols": ["A"] * 9},
    ):
        with pytest.raises(ChartSpecError):
            ChartSpec.from_payload(bad)


def test_a_digest_is_a_cascade_with_two_liquidations_or_a_charted_alert():
    liq = lambda symbol, at: {"alert_id": at, "symbol": symbol, "span": [at, at], "chart": None}  # noqa: E731
    whale = {"alert_id": "w", "chart": None}
    chart = cascade_chart([liq("ETHUSDT", 1_000), liq("BTCUSDT", 2_000), liq("BTCUSDT", 3_000), whale])
    assert chart is not None and chart.kind is ChartKind.DIGEST and chart.symbols == ("BTCUSDT", "ETHUSDT")
    assert (chart.mark_start_ms, chart.mark_end_ms) == (1_000, 3_000)
    assert cascade_chart([liq("BTCUSDT", 1_000), whale]) is None
    assert cascade_chart([whale, {**whale, "alert_id": "v"}]) is None


def fit(job: SendJob, cursor) -> Part:
    part = Part(cursor, part_id(job.alert_id, cursor, bool(job.photo)))
    assert Fit()(Attempt(job, "owner", 0.0), part) is None
    return part


def test_a_photo_carries_the_text_when_it_fits_a_caption_else_its_first_line():
    short = SendJob(1, "⚡ <b>STORM</b>\nline", "a", photo="c")
    part = fit(short, PHOTO)
    assert (part.part_id, part.text, part.next) == ("a", short.text, None)
    long = SendJob(1, "⚡ <b>STORM</b>\n" + "y" * 1100, "a", photo="c")
    part = fit(long, PHOTO)
    assert (part.text, part.next) == ("⚡ <b>STORM</b>", START)
    assert fit(long, START).part_id == "a/0.0" and fit(long, START).text == long.text  # named apart from the photo
    assert fit(SendJob(1, short.text, "a", photo="c", separate_text=True), PHOTO).text == "⚡ <b>STORM</b>"
    assert part_id("a", START) == "a"  # a text send's first part keeps the alert id, as before


def test_photo_refusals_are_classified_apart_from_text_refusals():
    classes = {
        "Bad Request: message caption is too long": tg.CAPTION_TOO_LONG,
        "Bad Request: PHOTO_INVALID_DIMENSIONS": tg.PHOTO_REFUSED,
        "Bad Request: there is no photo in the request": tg.PHOTO_REFUSED,
        "Bad Request: message is too long": tg.TOO_LONG,
    }
    for description, reason in classes.items():
        assert _by_status(400, description, {}, None).reason == reason
    assert _by_status(413, "Request Entity Too Large", {}, None).reason == tg.PHOTO_REFUSED


def test_the_renderer_draws_phone_sized_pngs_of_hostile_names_without_emoji():
    assert render.label("🚀$PEPE$\u202eUSDT\x00") == "$PEPE$USDT"
    bars = LiquidationBars(10, (0, 10_000, 20_000), (1e6, 0.0, 5e5), (0.0, 2e5, 0.0), (1.0, None, 1.1))
    png = render.liquidations_png("$PEPE$ <b>storm</b> 🚀", "subtitle $1$", bars, ZONE, "$PEPE$", (0, 10_000), "x")
    assert Image.open(io.BytesIO(png)).size == (1200, 800)
    empty = LiquidationBars(10, (), (), ())
    assert Image.open(io.BytesIO(render.liquidations_png("none", "", empty, ZONE))).size == (1200, 800)
    recap = render.recap_png("recap", "", [], bars, [], ZONE)
    assert Image.open(io.BytesIO(recap)).size == (1200, 1600)
    assert [render.usd_short(v) for v in (950, 12_500, 3_400_000, 2.5e9)] == ["$950", "$12k", "$3.4M", "$2.5B"]


def test_a_render_runs_in_a_child_process_of_lower_priority_and_the_caller_keeps_its_own():
    caller_nice = os.getpriority(os.PRIO_PROCESS, 0)

    def draw() -> bytes:
        return f"{os.getpid()} {os.getpriority(os.PRIO_PROCESS, 0)}".encode() + bytes(300_000)  # > a pipe's buffer

    answer = render_apart(draw, timeout_s=10)
    pid, nice = answer[: answer.index(0)].decode().split()
    assert int(pid) != os.getpid() and int(nice) == min(19, caller_nice + CHART_NICE)
    assert len(answer) == len(f"{pid} {nice}") + 300_000
    assert os.getpriority(os.PRIO_PROCESS, 0) == caller_nice


def test_a_render_that_raises_dies_or_hangs_costs_the_caller_nothing_but_an_exception(tmp_path):
    def fail() -> bytes:
        raise ValueError("no bars")

    with pytest.raises(ValueError, match="no bars"):
        render_apart(fail, timeout_s=10)

    class Unpicklable(Exception):  # a local class: pickle cannot name it
        pass

    def fail_oddly() -> bytes:
        raise Unpicklable("odd")

    with pytest.raises(RenderFailed, match="Unpicklable: odd"):
        render_apart(fail_oddly, timeout_s=10)

    def die() -> bytes:
        os._exit(3)

    with pytest.raises(RenderFailed, match="without an answer"):
        render_apart(die, timeout_s=10)

    def hang() -> bytes:
        (tmp_path / "pid").write_text(str(os.getpid()))
        time.sleep(60)
        return b""

    with pytest.raises(RenderTimedOut):
        render_apart(hang, timeout_s=2)
    with pytest.raises(ProcessLookupError):  # killed and reaped: neither running nor a zombie
        os.kill(int((tmp_path / "pid").read_text()), 0)
