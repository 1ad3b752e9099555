"""A minimal webhook receiver: one raw ASGI callable that answers 204 and remembers, per delivery,
its webhook-id and the wall-clock time it arrived.

`python -m uvicorn bench.receiver:app --host 127.0.0.1 --port N`; GET /arrivals returns
`[[webhook_id, unix_seconds], ...]` in arrival order, GET /ready answers 200.
"""

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

arrivals: list[tuple[str, float]] = []


async def _answer(send: Send, status: int, body: bytes = b"", content_type: bytes = b"text/plain") -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        arrived = time.time()
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        webhook_id = next((v.decode() for k, v in scope["headers"] if k == b"webhook-id"), "")
        arrivals.append((webhook_id, arrived))
        await _answer(send, 204)
    elif scope["path"] == "/arrivals":
        await _answer(send, 200, json.dumps(arrivals).encode(), b"application/json")
    else:
        await _answer(send, 200, b"ok")
