"""A tiny Ocean integration: serves fixed Okta-like users, so a test can run the real Ocean
framework once against `port-okta catalog serve`. The users come from $PORT_OKTA_TEST_USERS
(a JSON file: a list of user objects)."""

import json
import os

from port_ocean.context.ocean import ocean


@ocean.on_resync("okta-user")
async def users(kind: str) -> list[dict]:
    with open(os.environ["PORT_OKTA_TEST_USERS"]) as f:
        return json.load(f)
