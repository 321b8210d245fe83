"""The floor of the serving stack: a raw ASGI app answering every GET with one fixed JSON body.

Run under the same uvicorn settings as the real service, it shows what the server, the event
loop and HTTP parsing cost by themselves; the service's numbers are read against it. The body
is read once from the file named by `FLOOR_BODY_FILE` (a real `/recommend` answer, so the sizes
match), or is a small fixed JSON object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

_path = os.environ.get("FLOOR_BODY_FILE")
BODY = Path(_path).read_bytes() if _path else b'{"customer_id":"floor","items":[]}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})
