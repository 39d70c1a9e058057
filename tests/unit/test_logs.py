"""The log file's redaction: a registered secret never reaches a handler, not even inside a
formatted traceback or a stack."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

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


def test_a_full_disk_under_the_log_file_is_counted_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """logging prints a traceback per record a handler fails to write; on a full disk the log
    file's handler counts them instead and says so once the disk takes a line again."""
    import errno

    from jockey_desktop.logs import close_logging, setup_logging
    from jockey_desktop.paths import AppPaths

    paths = AppPaths.under(tmp_path)
    paths.logs.mkdir(parents=True)
    handler = setup_logging(paths)
    assert isinstance(handler, logging.StreamHandler)
    logger = logging.getLogger("test.fulldisk")
    real_stream = handler.stream

    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    try:
        handler.stream = FullDisk()
        logger.warning("lost one")
        logger.warning("lost two")
        handler.stream = real_stream
        logger.warning("written again")
    finally:
        close_logging(handler)
    assert capsys.readouterr().err == ""
    text = paths.log_file.read_text(encoding="utf-8")
    assert "2 log record(s) lost: the disk was full" in text
    assert "written again" in text and "lost one" not in text


def test_closing_the_log_on_a_full_disk_raises_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last flush of the log file at quit (or when a start is refused) on a full disk:
    it crashed the app with a traceback."""
    import errno

    from jockey_desktop.logs import close_logging, setup_logging
    from jockey_desktop.paths import AppPaths

    paths = AppPaths.under(tmp_path)
    paths.logs.mkdir(parents=True)
    handler = setup_logging(paths)
    assert isinstance(handler, logging.StreamHandler)

    class FullDisk(io.StringIO):
        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self.flush()

    handler.stream.close()
    handler.stream = FullDisk()
    close_logging(handler)
    assert handler not in logging.getLogger().handlers
    assert capsys.readouterr().err == ""
