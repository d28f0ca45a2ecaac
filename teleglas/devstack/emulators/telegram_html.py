"""Telegram's HTML parse mode, as the Bot API server applies it: the allowed tags, the entities, the errors.

Used by the Telegram emulator to refuse what the real server refuses (400 "can't parse entities") and to
measure the text length after parsing, which is what the 4096 limit counts. Written from the Bot API page
(https://core.telegram.org/bots/api#html-style) and TDLib's parser messages; no product code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
    "tg-time",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*")


class HtmlParseError(ValueError):
    """Carries the description the Bot API server would return after `Bad Request: can't parse entities: `."""


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: how the Bot API counts entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class ParsedHtml:
    plain_text: str

    @property
    def length(self) -> int:
        """What the 4096 limit counts: Unicode code points (TDLib's utf8_length), one per astral emoji."""
        return len(self.plain_text)

    @property
    def utf16_length(self) -> int:
        """The stricter count (an astral emoji is two): what TELEGLAS's own splitter stays within."""
        return utf16_length(self.plain_text)


def parse_html(text: str) -> ParsedHtml:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            match = _ENTITY.match(text, i)
            if match and (decoded := _decode_entity(match.group(1))) is not None:
                out.append(decoded)
                i = match.end()
            else:
                out.append("&")  # like the server, an unknown entity is kept as text
                i += 1
        elif ch == "<":
            offset = len(text[:i].encode("utf-8"))
            close = text.find(">", i)
            if close == -1:
                raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
            body = text[i + 1 : close]
            if body.startswith("/"):
                name = body[1:].strip().lower()
                if not stack:
                    raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
                expected = stack[-1][0]
                if name != expected:
                    raise HtmlParseError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                match = _TAG_NAME.match(body)
                name = match.group(0).lower() if match else ""
                if name not in ALLOWED_TAGS:
                    raise HtmlParseError(f'Unsupported start tag "{name or body[:16]}" at byte offset {offset}')
                stack.append((name, offset))
            i = close + 1
        else:
            out.append(ch)
            i += 1
    if stack:
        name, _offset = stack[-1]
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
    return ParsedHtml("".join(out))


def _decode_entity(body: str) -> str | None:
    if body.startswith("#"):
        try:
            code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
            return chr(code) if 0 < code <= 0x10FFFF else None
        except ValueError:
            return None
    return _NAMED_ENTITIES.get(body)


def is_valid(text: str) -> bool:
    try:
        parse_html(text)
    except HtmlParseError:
        return False
    return True
