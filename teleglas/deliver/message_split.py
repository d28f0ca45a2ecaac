"""Fitting an alert text into Telegram's limits: split on line boundaries, and strip HTML for the plain fallback.

Telegram counts the 4096 after entity parsing, in Unicode code points (TDLib's check, docs/protocols.md); this
module counts UTF-16 units, which are never fewer, because the Telegram servers behind the Bot API server are not
public and an astral emoji costs at most one extra split. Raw texts over 32768 bytes are refused before parsing.
Our alert HTML never opens a tag on one line and closes it on another, so whole lines are safe cut points; a
single line too long by itself is sent as escaped plain text in pieces, which cannot cut a tag or an entity in
half.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from teleglas.defines import TELEGRAM_MAX_RAW_BYTES, TELEGRAM_MAX_TEXT_UNITS

_TAG = re.compile(r"<[^<>]*>")


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def html_to_plain(text: str) -> str:
    """What the reader would have seen: tags dropped, entities decoded. Broken markup stays as typed."""
    return html.unescape(_TAG.sub("", text))


def visible_units(text: str, is_html: bool) -> int:
    return utf16_units(html_to_plain(text) if is_html else text)


def fits(text: str, is_html: bool, max_units: int = TELEGRAM_MAX_TEXT_UNITS) -> bool:
    return visible_units(text, is_html) <= max_units and len(text.encode("utf-8")) <= TELEGRAM_MAX_RAW_BYTES


@dataclass(frozen=True, order=True, slots=True)
class Cursor:
    """A place in a text that does not move when the text is split again: a line, and inside a line too long
    to send whole, an offset into its visible (plain) characters. A part is named by where it starts, so a
    re-split after part k went out (plain text, smaller parts) keeps the names of the parts before it."""

    line: int
    char: int = 0


START = Cursor(0)


def split_message(text: str, is_html: bool, max_units: int = TELEGRAM_MAX_TEXT_UNITS) -> list[str]:
    """Parts in order, each within `max_units` visible UTF-16 units; joined with newlines they give `text` back
    (except that an over-long HTML line becomes escaped plain text, and blank parts are left out)."""
    if not (html_to_plain(text) if is_html else text).strip():
        return []
    if fits(text, is_html, max_units):
        return [text]
    parts: list[str] = []
    cursor: Cursor | None = START
    while cursor is not None and (found := next_part(text, is_html, max_units, cursor)) is not None:
        part, cursor = found
        parts.append(part)
    return parts


def next_part(text: str, is_html: bool, max_units: int, start: Cursor = START) -> tuple[str, Cursor | None] | None:
    """The part that begins at `start` (or after it, past blank lines) and where the next one begins (None at
    the end); None when nothing visible is left. Greedy: whole lines while they fit, a line too long by itself
    in pieces of its plain text."""
    lines = text.split("\n")
    line, char = start.line, start.char
    while line < len(lines):
        if char > 0 or not fits(lines[line], is_html, max_units):
            plain = html_to_plain(lines[line]) if is_html else lines[line]
            end = _piece_end(plain, char, max_units)
            piece = plain[char:end]
            following = Cursor(line, end) if end < len(plain) else Cursor(line + 1)
            if piece.strip():
                return (html.escape(piece, quote=False) if is_html else piece), _unless_done(following, lines)
            line, char = following.line, following.char
            continue
        taken = [lines[line]]
        after = line + 1
        while (
            after < len(lines)
            and fits(lines[after], is_html, max_units)
            and fits("\n".join([*taken, lines[after]]), is_html, max_units)
        ):
            taken.append(lines[after])
            after += 1
        part = "\n".join(taken)
        if (html_to_plain(part) if is_html else part).strip():
            return part, _unless_done(Cursor(after), lines)
        line, char = after, 0
    return None


def _unless_done(cursor: Cursor, lines: list[str]) -> Cursor | None:
    return None if cursor.line >= len(lines) else cursor


def _piece_end(plain: str, start: int, max_units: int) -> int:
    """The end of the longest piece of `plain` from `start` within `max_units` UTF-16 units (at least one
    character). Escaping can grow a piece (& → &amp;) past the raw byte limit only far beyond 4096 units."""
    units = 0
    for index in range(start, len(plain)):
        width = utf16_units(plain[index])
        if units + width > max_units and index > start:
            return index
        units += width
    return len(plain)
