"""Serves one bench subgraph: `python -m bench.router.server NAME PORT`.

A bare ASGI app on uvicorn (httptools, uvloop), no framework: POST /graphql and GET
/health. The data never changes, so answers are memoised by request body (bounded): a
repeated request costs a dict lookup, and the first one is computed by the executor, which
answers any representation correctly."""
from __future__ import annotations

import sys

import orjson

from bench.router.subgraphs import SUBGRAPHS, BenchSubgraph

_MEMO_LIMIT = 4096
_JSON = [(b"content-type", b"application/json")]


def create_app(subgraph: BenchSubgraph):
    memo: dict[bytes, bytes] = {}

    def answer(body: bytes) -> tuple[int, bytes]:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, orjson.dumps({"errors": [{"message": "The request body is not valid JSON."}]})
        if not isinstance(payload, dict):
            return 400, orjson.dumps({"errors": [{"message": "The request body must be a JSON object."}]})
        result = subgraph.schema.execute(payload.get("query"), payload.get("variables"), payload.get("operationName"))
        return (200 if "data" in result else 400), orjson.dumps(result)

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/health" and method == "GET":
            status, body = 200, b'{"status":"ok"}'
        elif path == "/graphql" and method == "POST":
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            request = b"".join(chunks)
            cached = memo.get(request)
            if cached is None:
                cached = answer(request)
                if cached[0] == 200:
                    if len(memo) >= _MEMO_LIMIT:
                        memo.clear()
                    memo[request] = cached
            status, body = cached
        else:
            status, body = 404, b'{"errors":[{"message":"POST /graphql"}]}'
        await send({"type": "http.response.start", "status": status, "headers": _JSON})
        await send({"type": "http.response.body", "body": body})

    return app


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in SUBGRAPHS or not args[1].isdigit():
        raise SystemExit(f"usage: python -m bench.router.server {{{','.join(SUBGRAPHS)}}} PORT")
    import uvicorn

    uvicorn.run(
        create_app(SUBGRAPHS[args[0]]), host="127.0.0.1", port=int(args[1]), loop="uvloop", http="httptools",
        log_level="warning", access_log=False, lifespan="on",
    )


if __name__ == "__main__":
    main()
