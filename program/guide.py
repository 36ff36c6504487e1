"""kgateway's "AWS Lambda" guide as data: the request it sends and the answers a route may give back."""

import json

GUIDE_EVENT = {"key1": "value1", "key2": "value2"}
GUIDE_REQUEST_BODY = json.dumps(GUIDE_EVENT, separators=(",", ":"))
ECHO_PREFIX = "Response from AWS Lambda. Here's the request you just sent me: "
# What the guide shows: the function's raw result, which is what a pass-through (payloadTransformMode None) returns.
GUIDE_RESPONSE = json.dumps({"statusCode": 200, "body": ECHO_PREFIX + GUIDE_REQUEST_BODY}, separators=(",", ":"))

# What a route's answer must be: the guide's exact response, the echo unwrapped by Envoy, an async 202, or
# (for functions other than the echo function) just a 200.
Expect = str
EXPECT_GUIDE, EXPECT_ENVOY, EXPECT_ASYNC, EXPECT_STATUS = "guide", "envoy", "async", "status"
