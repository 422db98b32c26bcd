"""Runs the integration in ./integration once (Ocean's ONCE event listener), the way `ocean sail
--once` does, but with Ocean's HTTP server bound to 127.0.0.1 on a free port instead of
0.0.0.0:8000: tests only listen on loopback."""

import os
import sys

import uvicorn

_run = uvicorn.run


def _loopback(app, host="127.0.0.1", port=0, **kwargs):
    return _run(app, host="127.0.0.1", port=0, **kwargs)


uvicorn.run = _loopback
# Ocean reads ./pyproject.toml and ./.port when it is imported.
os.chdir(sys.argv[1])

from port_ocean.run import run  # noqa: E402

run(".", log_level="INFO", config_override={"event_listener": {"type": "ONCE"}})
