"""The log file's redaction: a registered secret never reaches a handler, not even inside a
formatted traceback or a stack."""

from __future__ import annotations

import io
import logging

from jockey_desktop.logs import redactor, register_secret


def test_a_logged_exception_holding_the_key_is_redacted() -> None:
    secret = "tlk_traceback_secret_777"
    register_secret(secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(redactor)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"client(key={secret!r}) failed")
        except RuntimeError:
            logger.exception("request failed")
        logger.warning("where am I", stack_info=True, extra={"k": secret})
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None,
                                   sinfo=f"Stack: {secret}")
        handler.handle(record)
    finally:
        logger.removeHandler(handler)
        redactor.secrets.discard(secret)
    text = stream.getvalue()
    assert "RuntimeError" in text and "[redacted]" in text
    assert secret not in text




def test_a_word_too_short_to_be_a_secret_is_never_redacted() -> None:
    """The sandbox's key is "sandbox": registering it must not garble every log line that
    mentions the sandbox; a real key is still hidden."""
    long_secret = "tlk_log_secret_0123456789"
    register_secret("sandbox")
    register_secret(long_secret)
    try:
        assert redactor.redact("sandbox started; key tlk_log_secret_0123456789") == (
            "sandbox started; key [redacted]")
        assert "sandbox" not in redactor.secrets
    finally:
        redactor.secrets.discard(long_secret)
        redactor.secrets.discard("sandbox")
