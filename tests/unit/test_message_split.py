"""Splitting and plain-text fallback: every part within the limit, nothing lost, no tag cut in half."""

import html

from teleglas.deliver.message_split import fits, html_to_plain, split_message, utf16_units
from teleglas.devstack.emulators.telegram_html import parse_html


def test_short_text_is_one_part():
    assert split_message("<b>BTC</b> &amp; ETH", is_html=True) == ["<b>BTC</b> &amp; ETH"]


def test_long_html_splits_on_lines_and_keeps_every_line_in_order():
    lines = [f"<b>{i:04d}</b> BTCUSDT liquidated &lt;long&gt; $1,000,000" for i in range(300)]
    text = "\n".join(lines)
    parts = split_message(text, is_html=True, max_units=4096)
    assert len(parts) > 1
    assert "\n".join(parts) == text
    for part in parts:
        assert parse_html(part).utf16_length <= 4096  # what Telegram counts, by the emulator's parser


def test_limit_counts_utf16_units_after_parsing():
    line = "🔥" * 1000  # 2,000 UTF-16 units, 1,000 code points
    parts = split_message("\n".join([line] * 5), is_html=False, max_units=4096)
    assert [utf16_units(p) for p in parts] == [4001, 4001, 2000]


def test_entities_count_as_one_character():
    text = "&amp;" * 4000  # 20,000 raw characters, 4,000 visible
    assert split_message(text, is_html=True) == [text]


def test_a_line_longer_than_the_limit_becomes_escaped_plain_pieces():
    line = "<b>x</b>" + "a&lt;&gt;&amp;" * 2000  # visible: x + 8,000 characters
    parts = split_message(line, is_html=True, max_units=4096)
    assert len(parts) == 2
    assert "".join(html.unescape(p) for p in parts) == html_to_plain(line)
    assert all(parse_html(p).utf16_length <= 4096 for p in parts)


def test_plain_text_is_split_without_touching_markup_like_characters():
    text = "\n".join(["<b>not a tag</b>"] * 600)
    parts = split_message(text, is_html=False, max_units=4096)
    assert "\n".join(parts) == text and all(utf16_units(p) <= 4096 for p in parts)


def test_blank_text_has_no_parts():
    assert split_message("\n" * 5000, is_html=False) == []


def test_raw_byte_limit_is_respected_too():
    text = "\n".join(["<b></b>" * 300 + "x"] * 40)  # few visible characters, 84 kB of markup
    parts = split_message(text, is_html=True)
    assert len(parts) > 1 and all(fits(p, True) for p in parts)


def test_plain_fallback_shows_what_the_reader_would_have_seen():
    assert html_to_plain("🔥 <b>LIQ</b>\n📊 Symbol: &lt;b&gt;X&lt;/b&gt;USDT") == "🔥 LIQ\n📊 Symbol: <b>X</b>USDT"
    assert html_to_plain("broken <b>tag and a<b") == "broken tag and a<b"
