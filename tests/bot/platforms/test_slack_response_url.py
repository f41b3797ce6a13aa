"""Answers through a slash command's ``response_url``: one JSON POST on the adapter's session, tried once more only
when the connection could not be opened (nothing was sent), never after the request may have gone out."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.platforms.slack import app as slack_app
from bot.platforms.slack.app import post_response
from tests.fakes.slack_api import FakeSlackAPI

ANSWER = {"text": "hello", "response_type": "ephemeral", "replace_original": False, "blocks": None}


class RefusedFirst(aiohttp.TCPConnector):
    """A connector whose first ``refused`` connection attempts fail as a refused connect would."""

    def __init__(self, refused: int) -> None:
        super().__init__()
        self.refused = refused
        self.attempts = 0

    async def connect(self, req, traces, timeout):  # noqa: ASYNC109 - aiohttp's signature
        self.attempts += 1
        if self.refused:
            self.refused -= 1
            raise aiohttp.ClientConnectorError(req.connection_key, ConnectionRefusedError(111, "Connection refused"))
        return await super().connect(req, traces, timeout)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_app, "RECONNECT_PAUSE", 0.0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI.running() as running:
        yield running


async def test_an_answer_is_posted_as_json_without_empty_fields(fake: FakeSlackAPI):
    async with aiohttp.ClientSession() as session:
        assert await post_response(session, fake.response_url("a1"), ANSWER) == 200
    [call] = fake.calls_to("response")
    assert call.body == {"text": "hello", "response_type": "ephemeral", "replace_original": False}


async def test_a_connection_that_could_not_be_opened_is_tried_once_more(fake: FakeSlackAPI):
    connector = RefusedFirst(refused=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        assert await post_response(session, fake.response_url("a2"), ANSWER) == 200
    assert connector.attempts == 2
    assert len(fake.calls_to("response")) == 1


async def test_only_once_more(fake: FakeSlackAPI):
    connector = RefusedFirst(refused=2)
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await post_response(session, fake.response_url("a3"), ANSWER)
    assert connector.attempts == 2 and not fake.calls_to("response")


async def test_nothing_listening_is_a_connector_error():
    """What a refused connection really raises: the error that is tried once more."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorError):
                await post_response(session, f"http://127.0.0.1:{port}/response/x", ANSWER)


async def test_a_connection_lost_after_the_request_went_out_is_not_sent_again():
    """The server reads the whole request, then closes without answering: it may have posted the answer, so it is
    not sent a second time (slack-sdk's connection-error retry would have)."""
    received: list[bytes] = []

    async def read_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
        received.append(await reader.readexactly(length))
        writer.close()

    server = await asyncio.start_server(read_then_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await post_response(session, f"http://127.0.0.1:{port}/response/x", ANSWER)
    finally:
        server.close()
        await server.wait_closed()
    assert [json.loads(body)["text"] for body in received] == ["hello"]


async def test_a_refused_answer_is_logged_not_raised(fake: FakeSlackAPI, caplog: pytest.LogCaptureFixture):
    async with aiohttp.ClientSession() as session:
        status = await post_response(session, f"{fake.base_url}/no-such-hook", ANSWER)
    assert status == 404
    assert "the response_url refused an answer: 404" in caplog.text
