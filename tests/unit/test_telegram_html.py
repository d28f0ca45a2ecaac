import pytest

from teleglas.devstack.emulators.telegram_html import HtmlParseError, is_valid, parse_html


def test_allowed_tags_and_entities():
    parsed = parse_html('<b>bold</b> <a href="https://x">l</a> &lt;3 &amp; &quot;q&quot; &#39; &#x1F525; a&b')
    assert parsed.plain_text == 'bold l <3 & "q" \' 🔥 a&b'


@pytest.mark.parametrize(
    "text, message",
    [
        ("a <x>b</x>", 'Unsupported start tag "x" at byte offset 2'),
        ("🔥 <secret_key>", 'Unsupported start tag "secret_key" at byte offset 5'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("a<b", "Unclosed start tag"),
        ("</b>", "Unexpected end tag"),
    ],
)
def test_what_the_server_refuses(text, message):
    with pytest.raises(HtmlParseError, match=message):
        parse_html(text)
    assert not is_valid(text)


def test_length_is_counted_in_utf16_units_after_parsing():
    assert parse_html("<b>🔥</b>").utf16_length == 2
    assert parse_html("&lt;" * 10).utf16_length == 10
