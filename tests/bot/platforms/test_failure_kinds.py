"""Each sender classifies its platform's permanent errors into the core's neutral kinds (bot/core/platform.py), so
features word their reports from the kind and never name a platform's error codes."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.platform import (
    CHANNEL_MISSING,
    DEACTIVATED,
    DMS_CLOSED,
    NOT_MEMBER,
    PermanentSendError,
    TransientSendError,
)
from bot.platforms.discord.sender import answered
from bot.platforms.slack.sender import classify


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (403, 50007, DMS_CLOSED),
        (404, 10013, NOT_MEMBER),
        (404, 10007, NOT_MEMBER),
        (404, 10003, CHANNEL_MISSING),
        (403, 50001, CHANNEL_MISSING),
        (400, 50035, None),  # invalid form body: a bug of ours, not a kind of recipient
    ],
)
def test_discord_codes_become_kinds(status, code, kind):
    error = answered(status, {"code": code, "message": "no"})
    assert isinstance(error, PermanentSendError) and error.kind == kind
    assert f"code {code}" in error.reason  # the full reason stays, for the log and /outbox


def slack_error(error: str, status: int = 200) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=status,
    )
    return SlackApiError(error, response)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("cannot_dm_bot", DMS_CLOSED),
        ("user_not_found", NOT_MEMBER),
        ("user_disabled", DEACTIVATED),
        ("channel_not_found", CHANNEL_MISSING),
        ("not_in_channel", CHANNEL_MISSING),
        ("is_archived", CHANNEL_MISSING),
        ("account_inactive", None),  # the bot's own token, not the recipient
        ("invalid_blocks", None),
    ],
)
def test_slack_errors_become_kinds(error, kind):
    found = classify(slack_error(error), "chat.postMessage to dm:4", posts=True)
    assert isinstance(found, PermanentSendError) and found.kind == kind
    assert found.reason == f"chat.postMessage to dm:4: {error}"


def test_transient_errors_have_no_kind_and_a_kind_must_be_known():
    assert isinstance(classify(slack_error("ratelimited", 429), "x"), TransientSendError)
    assert not isinstance(answered(503, {"code": 0}), PermanentSendError)
    with pytest.raises(ValueError, match="unknown failure kind"):
        PermanentSendError("x", "dms-closed")
