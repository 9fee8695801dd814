"""The middleware's reports: what a body sent, however the server sends it, counted once."""

from __future__ import annotations

import io
from typing import cast

from waitress.buffers import ReadOnlyFileBasedBuffer

from portal.ops.traffic import Exchange
from portal.ops.traffic import ObservedBody
from portal.ops.traffic import observed_file_wrapper


class Recorded:
    def __init__(self) -> None:
        self.finished: list[int] = []

    def finish(self, sent: int) -> None:
        self.finished.append(sent)


def test_a_file_wrapper_cut_short_reports_what_was_sent_not_what_was_announced():
    wrapper_class = observed_file_wrapper(ReadOnlyFileBasedBuffer)
    assert issubclass(wrapper_class, ReadOnlyFileBasedBuffer)  # so waitress still sends it from its loop
    assert observed_file_wrapper(ReadOnlyFileBasedBuffer) is wrapper_class
    wrapper = wrapper_class(io.BytesIO(b"x" * 1000), 64)
    wrapper.exchange = exchange = Recorded()
    assert wrapper.prepare() == 1000
    # As waitress's loop sends: get what the socket takes, skip what it took; then the client left.
    assert len(wrapper.get(300)) == 300
    wrapper.skip(250, True)
    wrapper.close()
    assert exchange.finished == [250]


def test_a_body_reports_the_bytes_taken_from_it_when_closed():
    closed = []

    class Body:
        def __iter__(self):
            return iter([b"abc", b"", b"defg"])

        def close(self):
            closed.append(True)

    exchange = Recorded()
    body = ObservedBody(Body(), cast(Exchange, exchange))  # it only tells its exchange what was sent
    assert next(iter(body)) == b"abc"
    body.close()
    assert closed == [True] and exchange.finished == [3]
