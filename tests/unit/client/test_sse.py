"""The text/event-stream format: what the API writes, the clients read back."""

from __future__ import annotations

from app.sse import comment, format_event
from caviar._sse import ServerSentEvent, iter_events


def lines_of(text: str) -> list[str]:
    return text.split("\n")


def test_written_events_read_back_with_their_id_kind_and_data() -> None:
    text = format_event('{"a": 1}', event="epoch", id="7") + format_event(
        "x", event="search_completed", id="8"
    )
    assert list(iter_events(lines_of(text))) == [
        ServerSentEvent("epoch", '{"a": 1}', "7"),
        ServerSentEvent("search_completed", "x", "8"),
    ]


def test_multi_line_data_survives_the_round_trip() -> None:
    (event,) = iter_events(lines_of(format_event("one\ntwo", id="1")))
    assert event.data == "one\ntwo"
    assert event.event == "message"


def test_comments_and_retry_only_blocks_yield_no_event() -> None:
    text = "retry: 1000\n\n" + comment("keepalive") + format_event("d", id="3")
    assert [event.id for event in iter_events(lines_of(text))] == ["3"]


def test_an_event_cut_off_before_its_blank_line_is_not_delivered() -> None:
    assert list(iter_events(["id: 4", "event: epoch", "data: {}"])) == []
