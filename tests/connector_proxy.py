"""A connector proxy on 127.0.0.1 as spiff-arena's are built (spiffworkflow-proxy), for connector tests.

It lists its commands at ``GET /v1/commands`` and runs one at ``POST /v1/do/<operator id>`` with the parameters as
a JSON object, answering ``{"command_response": {"body", "mimetype", "http_status"}, "command_response_version": 2,
"error": None, "spiff__logs": []}``; an operator it does not serve is 404, a request without the configured API key
(``Spiff-Connector-Proxy-Api-Key``) 401. Written from the protocol, independently of the engine's code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.receiver import Received, serving

#: A command: the parameters it was given -> (HTTP status, JSON answer).
Command = Callable[[dict[str, Any]], tuple[int, Any]]


def answered(body: Any, http_status: int = 200) -> tuple[int, dict[str, Any]]:
    """A command's success as spiffworkflow-proxy wraps it (the service behind it said ``http_status``)."""
    return 200, {"command_response": {"body": body, "mimetype": "application/json", "http_status": http_status},
                 "command_response_version": 2, "error": None, "spiff__logs": [f"ran with status {http_status}"]}


def refused(status: int, error_code: str, message: str) -> tuple[int, dict[str, Any]]:
    """A command's failure: the proxy's own status and its ``error``."""
    return status, {"command_response": {}, "command_response_version": 2,
                    "error": {"error_code": error_code, "message": message}, "spiff__logs": []}


@dataclass
class Proxy:
    url: str
    api_key: str
    commands: dict[str, Command]
    #: Every request, in order.
    requests: list[Received] = field(default_factory=list)
    #: Statuses to answer ``/v1/do`` with before running the command, in order (a proxy overloaded for a while).
    busy: list[int] = field(default_factory=list)

    def calls(self, operator: str) -> list[Received]:
        return [r for r in self.requests if r.path == f"/v1/do/{operator}"]


@contextmanager
def connector_proxy(commands: dict[str, Command], api_key: str = "proxy-key-for-tests") -> Iterator[Proxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    proxy = Proxy(f"http://127.0.0.1:{server.server_address[1]}", api_key, commands)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
            proxy.requests.append(received)
            if self.headers.get("Spiff-Connector-Proxy-Api-Key") != proxy.api_key:
                return self._answer(401, {"error": "Unauthorized"})
            if self.command == "GET" and self.path == "/v1/commands":
                return self._answer(200, [{"id": name, "parameters": []} for name in proxy.commands])
            operator = self.path.removeprefix("/v1/do/")
            if self.command != "POST" or not self.path.startswith("/v1/do/") or operator not in proxy.commands:
                return self._answer(404, {"error": f"no such command: {operator}"})
            if proxy.busy:
                return self._answer(proxy.busy.pop(0), {"error": "the proxy is overloaded"})
            try:
                params = json.loads(received.body or b"{}")
            except ValueError:
                return self._answer(400, {"error": "the body is not JSON"})
            self._answer(*proxy.commands[operator](params))

        do_GET = do_POST = _handle

        def log_message(self, *_args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    with serving(server):
        yield proxy
