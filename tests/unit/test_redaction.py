import logging

import requests

from teleglas.ops.logging_setup import RedactingFilter
from teleglas.ops.redaction import redact, register_secrets

TOKEN = "123456789:AAHfake-Token_value_for_tests_000"


def test_telegram_token_shapes_are_masked_even_unregistered():
    assert TOKEN not in redact(f"POST /bot{TOKEN}/sendMessage?chat_id=1")
    assert redact(f"POST /bot{TOKEN}/sendMessage") == "POST /bot***/sendMessage"
    assert redact("POST /botnot-a-token-but-long-enough/getMe") == "POST /bot***/getMe"
    # Paths that only look alike stay readable in tracebacks.
    assert (
        redact('File "/srv/teleglas/manual/bot.py", line 3; /srv/bots/manual.py')
        == 'File "/srv/teleglas/manual/bot.py", line 3; /srv/bots/manual.py'
    )
    assert redact(f"token {TOKEN} leaked") == "token *** leaked"


def test_coinglass_key_in_url_and_header_is_masked():
    assert (
        redact("wss://open-ws.coinglass.com/ws-api?cg-api-key=abc123&x=1")
        == "wss://open-ws.coinglass.com/ws-api?cg-api-key=***&x=1"
    )
    assert "s3cr3t" not in redact("{'CG-API-KEY': 's3cr3t', 'accept': 'application/json'}")


def test_registered_secrets_are_masked_anywhere():
    register_secrets("plain-secret-value")
    assert redact("x plain-secret-value y") == "x *** y"


def test_filter_masks_message_arguments_and_tracebacks():
    try:
        requests.get(f"http://127.0.0.1:1/bot{TOKEN}/getMe", timeout=0.5)
    except requests.ConnectionError as exc:
        error = exc
    assert TOKEN in str(error)  # what telebot would hand us: the token in the text
    try:
        raise RuntimeError(str(error))
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed: %s", (error,), exc_info=__import__("sys").exc_info()
        )
    assert RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted and "/bot***/getMe" in formatted
    assert "Traceback" in formatted
