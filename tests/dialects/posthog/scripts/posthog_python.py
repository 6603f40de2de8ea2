"""Driven by test_sdk_python.py under the real `posthog` package: argv = url key gzip ids-json.

Prints `{"errors": [...]}` (what the SDK's on_error saw) when done.
"""

import json
import sys

from posthog import Posthog

url, key, gzip, ids = sys.argv[1], sys.argv[2], sys.argv[3] == "1", json.loads(sys.argv[4])
errors = []
client = Posthog(key, host=url, gzip=gzip, on_error=lambda err, batch: errors.append(repr(err)))
user, other = ids["user"], ids["other"]
client.capture(event="py_pageview", distinct_id=user, uuid=ids["uuid"], properties={
    "$current_url": "https://shop.example/landing?utm_source=python&utm_medium=sdk",
    "$session_id": ids["session"], "n": 1})
if hasattr(client, "identify"):  # removed in posthog 6
    client.identify(distinct_id=user, properties={"email": "ama@example.com"})
client.set(distinct_id=user, properties={"plan": "pro"})
client.set_once(distinct_id=user, properties={"first_plan": "free"})
client.set_once(distinct_id=user, properties={"first_plan": "pro"})
client.alias(previous_id=user, distinct_id=other)
client.capture(event="py_after_alias", distinct_id=other, properties={"n": 2})
client.flush()
client.shutdown()
print(json.dumps({"errors": errors}))
