"""A fake vendor API on 127.0.0.1: contract checks, state, and injected faults.

Every request is checked in this order, as the real service would:
  1. auth headers (401 in the vendor's error shape when wrong),
  2. the published schema where one exists, else the documented shape
     (a violation is recorded in `violations` and answered 400),
  3. an injected fault, if one is queued for this route,
  4. the vendor behaviour itself (a subclass method).

Faults: "429" (with Retry-After), "500", "timeout" (answer after `delay`),
"malformed" (200 with a body that is not JSON), "400" (a vendor validation
error). With `after=True` the request takes effect first and then fails, the
case that makes blind retries create duplicates.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


@dataclass
class Fault:
    kind: str
    method: str | None = None
    path: str | None = None  # prefix
    after: bool = False
    delay: float = 2.0
    retry_after: str = "1"

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    errors: list[str] = field(default_factory=list)
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Seen], Awaitable[Response] | Response]


class FakeVendor:
    """Subclasses set `name`, implement `auth_error`, `contract_errors`, `error_response` and routes."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/{path:path}", self._dispatch,
                                           methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
        self._routes: list[tuple[str, str, Handler]] = []
        self._server: _ServerThread | None = None

    # ------------------------------------------------------------ set up

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a path with `{name}` segments."""
        self._routes.append((method, pattern, handler))

    def fail(self, kind: str, times: int = 1, **kw: Any) -> None:
        with self.lock:
            self.faults += [Fault(kind, **kw) for _ in range(times)]

    def start(self) -> FakeVendor:
        self._server = _ServerThread(self.app).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [r for r in self.requests if (method is None or r.method == method)
                and (path is None or r.path.startswith(path))]

    # --------------------------------------------------- for subclasses

    def auth_error(self, seen: Seen) -> Response | None:
        return None

    def contract_errors(self, seen: Seen) -> list[str]:
        return []

    def error_response(self, status: int, message: str) -> Response:
        return JSONResponse({"message": message}, status_code=status)

    # ------------------------------------------------------------- core

    async def _dispatch(self, request: Request) -> Response:
        seen = Seen(request.method, request.url.path, dict(request.query_params),
                    {k.lower(): v for k, v in request.headers.items()}, await request.body())
        with self.lock:
            self.requests.append(seen)
        response = await self._answer(seen)
        seen.status = response.status_code
        return response

    async def _answer(self, seen: Seen) -> Response:
        denied = self.auth_error(seen)
        if denied is not None:
            return denied
        seen.errors = self.contract_errors(seen)
        if seen.errors:
            with self.lock:
                self.violations += [f"{seen.method} {seen.path}: {e}" for e in seen.errors]
            return self.error_response(400, "; ".join(seen.errors))
        fault = self._take_fault(seen)
        if fault is not None and not fault.after:
            return await self._fault_response(fault, None)
        handler, params = self._find(seen)
        if handler is None:
            return self.error_response(404, f"no route {seen.method} {seen.path}")
        result = handler(seen, **params)  # type: ignore[call-arg]
        if asyncio.iscoroutine(result):
            result = await result
        if fault is not None:
            return await self._fault_response(fault, result)
        return result

    def _take_fault(self, seen: Seen) -> Fault | None:
        with self.lock:
            for i, f in enumerate(self.faults):
                if f.matches(seen.method, seen.path):
                    return self.faults.pop(i)
        return None

    async def _fault_response(self, fault: Fault, real: Response | None) -> Response:
        if fault.kind == "429":
            r = self.error_response(429, "rate limited")
            r.headers["Retry-After"] = fault.retry_after
            return r
        if fault.kind == "500":
            return self.error_response(500, "internal error")
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return real or self.error_response(503, "late")
        if fault.kind == "malformed":
            return PlainTextResponse("<html><body>Bad Gateway</body>", status_code=200,
                                     media_type="application/json")
        if fault.kind == "400":
            return self.error_response(400, "invalid value")
        raise ValueError(f"unknown fault {fault.kind}")

    def _find(self, seen: Seen) -> tuple[Handler | None, dict[str, str]]:
        parts = seen.path.strip("/").split("/")
        for method, pattern, handler in self._routes:
            if method != seen.method:
                continue
            pparts = pattern.strip("/").split("/")
            if len(pparts) != len(parts):
                continue
            params = {}
            for p, a in zip(pparts, parts):
                if p.startswith("{") and p.endswith("}"):
                    params[p[1:-1]] = a
                elif p != a:
                    break
            else:
                return handler, params
        return None, {}


class _ServerThread:
    def __init__(self, app: Any):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> _ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake vendor server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(5)
        self.sock.close()


def json_response(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)
