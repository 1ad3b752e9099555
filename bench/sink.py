"""The uploads' transport ceiling: raw ASGI that hashes a request body and writes it to a file.

The local baseline of the uploads section hashes and writes bytes it already holds; an upload
must first cross HTTP. This app does the baseline's work on a body received over HTTP (the same
multipart body, its bytes hashed and written whole, nothing parsed), so its throughput is what
any server on this machine, uvicorn and loopback could reach before doing Pacta's work: parsing
the form, sniffing the type, the content-addressed store, the database and the log.

Serve it with `python -m uvicorn bench.sink:app --host 127.0.0.1 --port N`, BENCH_SINK_DIR set
to a folder for the files (each is removed once written). `POST /?drain` only receives the body:
the ceiling of HTTP itself.
"""

import hashlib
import os
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

ENV_DIR = "BENCH_SINK_DIR"

Message = MutableMapping[str, Any]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    size = 0
    if scope["query_string"] == b"drain":
        # Only receive: the ceiling of HTTP itself on this machine.
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": f'{{"size":{size}}}'.encode()})
        return
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=os.environ.get(ENV_DIR), delete=False) as handle:
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            digest.update(chunk)
            handle.write(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
    os.unlink(handle.name)
    body = f'{{"sha256":"{digest.hexdigest()}","size":{size}}}'.encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
