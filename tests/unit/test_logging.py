"""Log formats: the JSON lines of LOG_FORMAT=json keep the component prefix as a field, and the redaction."""

import json
import logging

from teleglas.ops.logging_setup import JsonFormatter, RedactingFilter
from teleglas.ops.redaction import register_secrets


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
