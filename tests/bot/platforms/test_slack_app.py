"""The Slack adapter end to end: real slack-bolt over loopback, signed requests, a fake Web API."""

from __future__ import annotations

from tests.fakes.slack_api import FakeSlackAPI, running_slack, slash


async def test_readings_renders_dates_and_links(app):
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
        result = await slash(slack, fake, "/readings", "2", user="U0SCH000001")
    assert result.status == 200
    assert result.ack == ""
    assert "<!date^" in result.text
