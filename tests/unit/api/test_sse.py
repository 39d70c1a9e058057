"""SSE parser edge cases: comments, multi-line data, line endings, chunk splits, [DONE]."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jockey_desktop.core.api import ProtocolError
from jockey_desktop.core.api.sse import MAX_EVENT_BYTES, SSEEvent, SSEParser

SAMPLE = (
    ": hello comment\n"
    "event: response.created\n"
    'data: {"type":"response.created","sequence_number":0}\n'
    "\n"
    "event: keepalive\r\n"
    'data: {"type":"keepalive",\r\n'
    'data: "sequence_number":1}\r\n'
    "\r\n"
    "event: response.output_text.delta\r"
    'data: {"delta":"caf\u00e9 \U0001f3ac"}\r'
    "\r"
    "data: [DONE]\n\n"
).encode()

EXPECTED = [
    SSEEvent("response.created", '{"type":"response.created","sequence_number":0}'),
    SSEEvent("keepalive", '{"type":"keepalive",\n"sequence_number":1}'),
    SSEEvent("response.output_text.delta", '{"delta":"caf\u00e9 \U0001f3ac"}'),
    SSEEvent("message", "[DONE]"),
]


def feed_all(chunks: list[bytes]) -> tuple[list[SSEEvent], SSEParser]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events, parser


def test_whole_sample_parses() -> None:
    events, parser = feed_all([SAMPLE])
    assert events == EXPECTED
    assert parser.comments == 1
    assert events[-1].is_done and not events[0].is_done


@pytest.mark.parametrize("cut", range(1, len(SAMPLE)))
def test_split_at_every_byte(cut: int) -> None:
    events, _ = feed_all([SAMPLE[:cut], SAMPLE[cut:]])
    assert events == EXPECTED


def test_one_byte_at_a_time() -> None:
    events, _ = feed_all([SAMPLE[i : i + 1] for i in range(len(SAMPLE))])
    assert events == EXPECTED


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    # If the CR and LF were two line ends, the blank line would dispatch "a" too early and
    # "b" would become a second event.
    events, _ = feed_all([b"data: a\r", b"\ndata: b\r\n\r\n"])
    assert events == [SSEEvent("message", "a\nb")]


def test_comment_only_and_empty_data_do_not_dispatch() -> None:
    events, parser = feed_all([b": keep-alive\n\n: keep-alive\n\nevent: x\n\n"])
    assert events == []
    assert parser.comments == 2


def test_field_without_space_and_without_colon() -> None:
    events, _ = feed_all([b"event:custom\ndata:  two spaces\ndata\n\n"])
    # one leading space is dropped; "data" with no colon is an empty data line
    assert events == [SSEEvent("custom", " two spaces\n")]


def test_event_type_resets_after_dispatch() -> None:
    events, _ = feed_all([b"event: a\ndata: 1\n\ndata: 2\n\n"])
    assert [e.event for e in events] == ["a", "message"]


def test_unterminated_event_at_eof_is_dropped() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: partial") == []
    assert parser.close() == []


def test_bom_is_ignored_and_id_kept() -> None:
    events, _ = feed_all([b"\xef\xbb\xbfid: 7\ndata: x\n\n"])
    assert events == [SSEEvent("message", "x", "7")]


def test_done_with_whitespace() -> None:
    events, _ = feed_all([b"data:  [DONE] \n\n"])
    assert events[0].is_done


@given(st.lists(st.integers(min_value=0, max_value=len(SAMPLE)), max_size=12))
@settings(max_examples=200, deadline=None)
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    bounds = [0, *points, len(SAMPLE)]
    chunks = [SAMPLE[a:b] for a, b in itertools.pairwise(bounds)]
    events, _ = feed_all(chunks)
    assert events == EXPECTED


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                               blacklist_characters="\r\n"), max_size=20),
                min_size=1, max_size=4),
       st.sampled_from(["\n", "\r\n", "\r"]))
@settings(max_examples=200, deadline=None)
def test_multiline_data_round_trips(lines: list[str], eol: str) -> None:
    # Every data line survives with any line ending; it must not be read as a comment.
    body = "".join(f"data:{' ' + line if line.startswith(' ') else line}{eol}" for line in lines)
    events, _ = feed_all([(body + eol).encode()])
    assert events == [SSEEvent("message", "\n".join(lines))]


# --- hostile streams: linear time, bounded events ----------------------------------------


def test_a_long_line_without_a_newline_is_parsed_in_linear_time() -> None:
    # 4 MiB in 1 KiB chunks: the old parser rescanned the whole buffer on every chunk
    # (~8.6e9 byte steps in Python, hours); a linear one needs a fraction of a second.
    size = 4 * 1024 * 1024
    parser = SSEParser()
    started = time.monotonic()
    assert parser.feed(b"data: ") == []
    piece = b"x" * 1024
    for _ in range(size // len(piece)):
        assert parser.feed(piece) == []
    events = parser.feed(b"\n\n")
    elapsed = time.monotonic() - started
    assert len(events) == 1 and len(events[0].data) == size
    assert elapsed < 30, f"4 MiB took {elapsed:.1f} s"


def test_an_unfinished_line_past_the_event_bound_is_a_protocol_error() -> None:
    parser = SSEParser()
    chunk = b"x" * (64 * 1024)
    parser.feed(b"data: ")
    with pytest.raises(ProtocolError) as info:
        for _ in range(MAX_EVENT_BYTES // len(chunk) + 2):
            parser.feed(chunk)
    assert str(info.value) == (
        "The server's reply could not be understood. The server sent a reply-stream event "
        "larger than 8 MiB, so the stream was stopped."
    )


def test_many_data_lines_past_the_event_bound_are_a_protocol_error() -> None:
    parser = SSEParser(max_event_bytes=1000)
    with pytest.raises(ProtocolError, match="larger than 1000 bytes"):
        for _ in range(20):
            parser.feed(b"data: " + b"y" * 90 + b"\n")  # complete lines, one event
    # Events that end in time are fine, however many there are.
    fresh = SSEParser(max_event_bytes=1000)
    for _ in range(50):
        assert [e.data for e in fresh.feed(b"data: " + b"z" * 900 + b"\n\n")] == ["z" * 900]


def test_an_event_just_under_the_bound_is_delivered() -> None:
    parser = SSEParser()
    payload = b"q" * (MAX_EVENT_BYTES - 1024)
    events = parser.feed(b"data: " + payload + b"\n\n")
    assert len(events) == 1 and len(events[0].data) == len(payload)
