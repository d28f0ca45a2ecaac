"""Secret removal for every text that leaves the process: log lines, exception texts, health output.

Known secret values are replaced wherever they appear; the shapes that carry secrets (a Telegram
`/bot<token>/` path, a bare bot token, the CoinGlass `cg-api-key=` query parameter and `CG-API-KEY`
header) are masked even when the value was never registered, e.g. a token from another deployment.
"""

from __future__ import annotations

import re
import threading

REDACTED = "***"

_PATTERNS = (
    # A URL's `/bot<token>/` segment: a colon or 20+ characters, followed by `/` (not `/bots/` or `bot.py`).
    (re.compile(r"(/bot)(?:[^/\s?#]*:[^/\s?#]*|[^/\s?#]{20,})(?=/)"), r"\1" + REDACTED),
    (re.compile(r"\b\d{4,}:[A-Za-z0-9_-]{20,}"), REDACTED),
    (re.compile(r"(cg-api-key=)[^&\s'\"#]*", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"(cg-api-key['\"]?\s*:\s*['\"]?)[^'\"\s,}]+", re.IGNORECASE), r"\1" + REDACTED),
)

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


def register_secrets(*values: str) -> None:
    """Remember values that must be masked verbatim (longest first, so a token is masked before its prefix)."""
    global _secrets
    with _lock:
        merged = set(_secrets) | {v for v in values if v and len(v) >= 4}
        _secrets = tuple(sorted(merged, key=len, reverse=True))


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
