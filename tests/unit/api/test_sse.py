"""SSE parser edge cases: comments, multi-line data, line endings, chunk splits, [DONE]."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jockey_desktop.core.api.sse import SSEEvent, SSEParser

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
