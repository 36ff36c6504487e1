"""The echo handler, run by node exactly as Lambda runs it: the guide's request gives the guide's response."""

from __future__ import annotations

import json

from tests.support.node_handler import invoke

GUIDE_EVENT = {"key1": "value1", "key2": "value2"}
# The guide's example response, to the byte.
GUIDE_RESPONSE = (
    '{"statusCode":200,"body":"Response from AWS Lambda. Here\'s the request you just sent me: '
    '{\\"key1\\":\\"value1\\",\\"key2\\":\\"value2\\"}"}'
)


def test_guide_request_gives_guide_response() -> None:
    assert invoke(GUIDE_EVENT) == GUIDE_RESPONSE


def test_any_event_is_echoed_in_the_body() -> None:
    event = {"nested": {"list": [1, 2, "three"]}, "unicode": "ünïcødé"}
    result = json.loads(invoke(event))
    assert result["statusCode"] == 200
    prefix = "Response from AWS Lambda. Here's the request you just sent me: "
    assert result["body"].startswith(prefix)
    assert json.loads(result["body"][len(prefix) :]) == event
