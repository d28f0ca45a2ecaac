"""Log formats: the JSON lines of LOG_FORMAT=json keep the component prefix as a field, and the redaction."""

import json
import logging
import sys

from teleglas.ops.logging_setup import JsonFormatter, RedactingFilter
from teleglas.ops.redaction import register_secrets
from tests.support.settings import make_settings


def test_json_log_lines_carry_the_component_and_no_secret():
    register_secrets("json-log-secret-value")
    record = logging.LogRecord(
        "teleglas.x",
        logging.WARNING,
        __file__,
        1,
        "[SENDER] alert=%s failed: %s",
        ("a1", "json-log-secret-value"),
        None,
    )
    RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["component"] == "SENDER" and entry["message"] == "alert=a1 failed: ***" and entry["level"] == "WARNING"


def test_the_redis_password_is_masked_in_log_lines_and_tracebacks_as_written_and_as_decoded():
    settings = make_settings(REDIS_URL="redis://:p%40ss-redis-4242@redis:6379/0", ALLOW_PLAINTEXT_URLS="false")
    register_secrets(*settings.secrets())
    try:
        raise ConnectionError("AUTH p@ss-redis-4242 failed")
    except ConnectionError:
        record = logging.LogRecord(
            "teleglas.x",
            logging.ERROR,
            __file__,
            1,
            "[RUNNER] broker %s unreachable",
            (settings.redis.url,),
            sys.exc_info(),
        )
    RedactingFilter().filter(record)
    line = logging.Formatter().format(record)
    assert "ss-redis-4242" not in line and "redis://:***@redis:6379/0" in line and "AUTH *** failed" in line
    assert "ss-redis-4242" not in repr(settings)
