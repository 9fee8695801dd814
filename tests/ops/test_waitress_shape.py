"""What the portal uses of waitress that waitress does not document: still there, in the version it was read in.

The slow-viewer sweep, the queue-depth gauge, the graceful stop, the count of
bytes sent and the log's filters reach into waitress 3.0.2's objects
(:data:`portal.ops.server.WAITRESS_INTERNALS`). A waitress that changed shape
must fail here, naming what moved, before it silently stops a sweep or a stop.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import io
import signal
import socket
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
import waitress
from waitress import wasyncore
from waitress.buffers import ReadOnlyFileBasedBuffer
from waitress.parser import HTTPRequestParser
from waitress.server import create_server as create_waitress_server

from portal import create_app
from portal.ops import logs
from portal.ops.server import WAITRESS_INTERNALS
from portal.ops.server import WAITRESS_VERSION
from portal.ops.server import WaitingTasks
from portal.ops.server import WaitressInternal
from portal.ops.server import listening_socket
from portal.ops.server import waitress_settings
from tests.support import ROOT

INSTALLED = importlib.metadata.version("waitress")


def trivial_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("204 No Content", [])
    return []


def settings(tmp_path) -> tuple[Any, dict[str, Any]]:
    """The portal's server factory and the settings ``python wsgi.py`` gives waitress, on a free port."""
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "SECRET_KEY": "test"})
    found = waitress_settings(app)
    return found.pop("_server"), {**found, "sockets": [listening_socket("127.0.0.1", 0)]}


def with_a_connection(server: Any) -> tuple[socket.socket, Any]:
    """A client connected to ``server``, and the channel (connection) waitress accepted for it, if it finds one."""
    client = socket.create_connection(server.socket.getsockname()[:2], timeout=5)
    server.handle_accept()
    return client, next(iter(getattr(server, "active_channels", {}).values()), None)


def close(server: Any, client: socket.socket) -> None:
    client.close()
    for channel in list(getattr(server, "active_channels", {}).values()):
        channel.close()
    server.close()
    server.trigger.close()
    server.task_dispatcher.shutdown(timeout=5)


@pytest.fixture(scope="module")
def owners(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """waitress's own objects, built with the portal's settings and before the portal changed any of them."""
    _portal_factory, waitress_kw = settings(tmp_path_factory.mktemp("shape"))
    server = create_waitress_server(trivial_app, **waitress_kw)
    client, channel = with_a_connection(server)
    file_wrapper = ReadOnlyFileBasedBuffer(io.BytesIO(b"some bytes"), 8192)
    file_wrapper.prepare()
    try:
        yield {
            "serve": waitress.serve,
            "server": server,
            "adjustments": getattr(server, "adj", None),
            "dispatcher": getattr(server, "task_dispatcher", None),
            "trigger": getattr(server, "trigger", None),
            "channel": channel,
            "file_wrapper": file_wrapper,
            "parser": HTTPRequestParser(server.adj),
            "wasyncore.dispatcher": wasyncore.dispatcher,
        }
    finally:
        close(server, client)


def changed(internal: WaitressInternal, owner: Any) -> str:
    kind = owner.__name__ if isinstance(owner, type) else type(owner).__name__
    return (
        f"{internal.user} relies on waitress's {kind}.{internal.name}, which waitress {INSTALLED} no longer has: "
        f"re-check {internal.purpose} before upgrading"
    )


def test_the_installed_waitress_is_the_one_the_internals_were_read_in():
    pins = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("waitress")]
    assert pins == [f"waitress=={WAITRESS_VERSION}"], (
        f"requirements.txt pins {pins}, but portal/ops/server.py's WAITRESS_INTERNALS were read in waitress {WAITRESS_VERSION}"
    )
    assert INSTALLED == WAITRESS_VERSION, (
        f"waitress {INSTALLED} is installed, but portal/ops/server.py's WAITRESS_INTERNALS were read in "
        f"{WAITRESS_VERSION}: re-check each of them, then WAITRESS_VERSION and the pin in requirements.txt"
    )


@pytest.mark.parametrize("internal", WAITRESS_INTERNALS, ids=lambda internal: f"{internal.owner}.{internal.name}")
def test_waitress_still_has_what_the_portal_uses(owners, internal):
    owner = owners[internal.owner]
    assert owner is not None, f"{internal.user}: waitress {INSTALLED} has no {internal.owner} where 3.0.2 had one"
    if internal.owner == "serve":
        # A keyword waitress.serve takes out of its settings (its "test shim"), not an attribute.
        assert f'"{internal.name}"' in inspect.getsource(owner), changed(internal, owner)
    else:
        assert hasattr(owner, internal.name), changed(internal, owner)


def test_waitress_internals_have_the_shape_the_portal_counts_on(owners):
    server, dispatcher, channel = owners["server"], owners["dispatcher"], owners["channel"]
    assert list(inspect.signature(server.maintenance).parameters) == ["now"], (
        f"portal/ops/server.py wraps waitress's maintenance(now), which waitress {INSTALLED} calls otherwise: "
        "re-check the slow-viewer sweep before upgrading"
    )
    assert type(dispatcher.queue) is deque, (
        f"portal/ops/server.py replaces waitress's task queue (a deque) with WaitingTasks, and waitress {INSTALLED} "
        f"keeps a {type(dispatcher.queue).__name__}: re-check the portal_queue_depth gauge before upgrading"
    )
    assert isinstance(server.active_channels, dict) and list(server.active_channels.values()) == [channel], (
        "portal/ops/server.py and lifecycle.py find the connections in waitress's active_channels, "
        f"which waitress {INSTALLED} no longer fills: re-check the sweep and the graceful stop before upgrading"
    )
    parser = HTTPRequestParser(server.adj)
    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"
    for _ in range(3):  # as waitress's channel feeds its parser, what the last call left
        data = data[parser.received(data):]
    assert parser.headers_finished and not parser.completed and parser.body_bytes_received == 5, (
        "portal/ops/screening.py times a body by waitress's parser's body_bytes_received, which waitress "
        f"{INSTALLED} counts otherwise: re-check the slow-sender sweep before upgrading"
    )
    assert (channel.logger.name, dispatcher.queue_logger.name) == (logs.WAITRESS_LOGGER, logs.QUEUE_LOGGER), (
        f"portal/ops/logs.py filters the loggers {logs.WAITRESS_LOGGER!r} and {logs.QUEUE_LOGGER!r}, but waitress "
        f"{INSTALLED} logs to {channel.logger.name!r} and {dispatcher.queue_logger.name!r}"
    )


def test_the_portal_builds_its_server_on_waitress_and_its_sweep_and_stop_run(tmp_path):
    factory, waitress_kw = settings(tmp_path)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    server = factory(trivial_app, **waitress_kw)
    client, channel = with_a_connection(server)
    try:
        assert isinstance(server.task_dispatcher.queue, WaitingTasks)
        server.maintenance(time.time())  # the sweep, with a connection to look at
        assert isinstance(server.trigger.readable(), bool)  # the graceful stop's check, nothing asked yet
        assert list(server.active_channels.values()) == [channel]
    finally:
        close(server, client)
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
