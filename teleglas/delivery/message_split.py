"""Fitting an alert text into Telegram's limits: split on line boundaries, and strip HTML for the plain fallback.

Telegram counts the 4096 after entity parsing, in UTF-16 units on the safe reading (telegram-bot-api.md §2),
and refuses raw texts over 32768 bytes. Our alert HTML never opens a tag on one line and closes it on
another, so whole lines are safe cut points; a single line too long by itself is sent as escaped plain text
in pieces, which cannot cut a tag or an entity in half.
"""
from __future__ import annotations

import html
import re

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


def split_message(text: str, is_html: bool, max_units: int = TELEGRAM_MAX_TEXT_UNITS) -> list[str]:
    """Parts in order, each within `max_units` visible UTF-16 units; joined with newlines they give `text` back
    (except that an over-long HTML line becomes escaped plain text, and blank parts are left out)."""
    if not (html_to_plain(text) if is_html else text).strip():
        return []
    if fits(text, is_html, max_units):
        return [text]
    parts: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if not fits(line, is_html, max_units):
            if current:
                parts.append("\n".join(current))
                current = []
            parts.extend(_hard_split(line, is_html, max_units))
            continue
        candidate = "\n".join([*current, line])
        if current and not fits(candidate, is_html, max_units):
            parts.append("\n".join(current))
            current = [line]
        else:
            current.append(line)
    if current:
        parts.append("\n".join(current))
    return [part for part in parts if (html_to_plain(part) if is_html else part).strip()]


def _hard_split(line: str, is_html: bool, max_units: int) -> list[str]:
    plain = html_to_plain(line) if is_html else line
    pieces: list[str] = []
    piece: list[str] = []
    units = 0
    # Escaping can grow a piece (& → &amp;) past the raw byte limit only far beyond 4096 visible units.
    for char in plain:
        width = utf16_units(char)
        if units + width > max_units:
            pieces.append("".join(piece))
            piece, units = [], 0
        piece.append(char)
        units += width
    if piece:
        pieces.append("".join(piece))
    return [html.escape(p, quote=False) for p in pieces] if is_html else pieces
