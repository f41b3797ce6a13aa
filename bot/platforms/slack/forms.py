"""A core :class:`Form` as a Slack modal, and a submitted modal back as the command's options.

``private_metadata`` carries what the submission needs: the command, its fixed options, the channel the
command was typed in, and the field names (so an error can be shown beside the right field).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.core.context import Place
from bot.core.messages import Form
from bot.platforms.slack.render import mrkdwn

CALLBACK_ID = "cohortbot_form"
ACTION_ID = "value"
TITLE_LIMIT = 24
LABEL_LIMIT = 2000
PLACEHOLDER_LIMIT = 150
METADATA_LIMIT = 3000


@dataclass(frozen=True)
class Submission:
    """A submitted form: the command to run, its options, and where it came from."""

    command: str
    options: dict[str, str]
    fields: list[str]
    place: Place


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def form_view(form: Form, place: Place, zone: ZoneInfo) -> dict:
    """The ``views.open`` payload for ``form`` asked in ``place`` (``zone``: fallback for times in the intro)."""
    blocks: list[dict] = []
    if form.intro:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(mrkdwn(form.intro, zone), 3000)}})
    for f in form.fields:
        element: dict = {"type": "plain_text_input", "action_id": ACTION_ID, "multiline": f.long}
        element["max_length"] = min(f.max_length, 3000)
        if f.placeholder:
            element["placeholder"] = {"type": "plain_text", "text": _cut(f.placeholder, PLACEHOLDER_LIMIT)}
        if f.default:
            element["initial_value"] = f.default
        blocks.append(
            {
                "type": "input",
                "block_id": f.name,
                "optional": not f.required,
                "label": {"type": "plain_text", "text": _cut(f.label, LABEL_LIMIT)},
                "element": element,
            }
        )
    metadata = {
        "command": form.command,
        "fixed": form.fixed,
        "channel": place.channel_id,
        "channel_name": place.channel_name,
        "fields": [f.name for f in form.fields],
    }
    encoded = json.dumps(metadata, separators=(",", ":"))
    if len(encoded) > METADATA_LIMIT:
        raise ValueError(f"the form for /{form.command} carries too much fixed data for a Slack modal")
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": _cut(form.title, TITLE_LIMIT)},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": encoded,
        "blocks": blocks,
    }


def read_submission(view: dict) -> Submission:
    """The command and options of a submitted modal (empty optional fields are left out)."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        action = actions.get(ACTION_ID) or next(iter(actions.values()), {})
        if action.get("value") is not None:
            values[block_id] = action["value"]
    place = Place(
        channel_id=meta.get("channel"),
        channel_name=meta.get("channel_name"),
        is_dm=meta.get("channel_name") == "directmessage",
    )
    return Submission(
        command=meta["command"],
        options={**meta.get("fixed", {}), **values},
        fields=list(meta.get("fields", [])),
        place=place,
    )
