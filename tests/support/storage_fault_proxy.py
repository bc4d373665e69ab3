"""A fault-injecting HTTP proxy for S3 and S3 Tables traffic, in front of a moto server (tests only).

The job's ``option.s3.endpoint`` and ``option.s3tables.endpoint`` point at the proxy; it forwards
every request to moto and, as the test's current :class:`Faults` say, answers some of them itself
instead:

- ``503 SlowDown`` / ``500 InternalError`` (the request never reaches moto),
- a reset connection (TCP RST, the request never reaches moto),
- a delay (then forwarded),
- a **lost answer**: forwarded, applied by moto, then the connection is reset instead of
  answering (``lose_commit_answers``: the S3 Tables commit, UpdateTableMetadataLocation;
  ``lose_answers``: any request).

Or the storage is **unreachable**: :meth:`StorageFaultProxy.unreachable` with ``"refuse"`` closes
the listening socket (connections are refused) and resets the open ones; ``"blackhole"`` accepts
connections and reads requests but never answers, until the spell ends (then the held connections
are reset). :meth:`StorageFaultProxy.reachable` ends either.

Loopback only: it listens on 127.0.0.1 and forwards to the upstream URL it is given. Each request
is counted by what was done to it (``stats``) and logged to an optional file, one line each.
Requests keep their headers (the Host header too: SigV4 signs it); bodies sent chunked are
forwarded with a Content-Length; ``Expect: 100-continue`` is answered by the proxy.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "proxy-authenticate",
}
UPSTREAM_TIMEOUT_S = 60


@dataclass(frozen=True)
class Faults:
    """What the proxy does to each request while these faults are set. Rates are per request."""

    error_rate: float = 0.0  # answered 503 SlowDown, 500 InternalError or reset, one third each
    delay_rate: float = 0.0  # delayed by delay_s, then forwarded
    delay_s: tuple[float, float] = (1.0, 5.0)
    lose_commit_answers: float = 0.0  # of S3 Tables commits (every 1/rate-th): applied by moto, answer lost
    lose_answers: float = 0.0  # of any request: applied, answer lost
    seed: int = 0

    @classmethod
    def none(cls) -> Faults:
        return cls()

    @classmethod
    def flaky(cls, seed: int = 0) -> Faults:
        """The flaky minute of issue 28: 25 % errors (503 / 500 / reset), 15 % delayed 1-5 s,
        half of the commit answers lost."""
        return cls(error_rate=0.25, delay_rate=0.15, lose_commit_answers=0.5, seed=seed)


def service_of(headers) -> str:
    """'s3' or 's3tables', from the SigV4 credential scope (both services share moto's endpoint)."""
    auth = headers.get("Authorization", "")
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in auth else ""
    parts = scope.split("/")
    return parts[3] if len(parts) > 3 else "unsigned"


def is_commit(method: str, path: str, service: str) -> bool:
    """S3 Tables' UpdateTableMetadataLocation: PUT /tables/{arn}/{namespace}/{name}/metadata-location."""
    return service == "s3tables" and method == "PUT" and urllib.parse.urlsplit(path).path.endswith("/metadata-location")


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client reads 'connection reset', not an answer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: StorageFaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and BaseHTTPRequestHandler answers Expect: 100-continue
    server: _Server
    upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        self.server.proxy._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._closed(self.connection)
            if self.upstream is not None:
                self.upstream.close()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler's name)
        pass  # each request is logged by the proxy, one line

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        for attempt in (1, 2):  # a kept-alive upstream connection moto closed: reconnect once
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=UPSTREAM_TIMEOUT_S
                )
            try:
                self.upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.upstream.putheader(name, value)
                self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body)
                response = self.upstream.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            except (http.client.HTTPException, OSError):
                self.upstream.close()
                self.upstream = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def answer(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() in HOP_BY_HOP or (name.lower() == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def error(self, status: int, service: str) -> None:
        if service == "s3tables":
            kind = "ServiceUnavailableException" if status == 503 else "InternalServerErrorException"
            data = ('{"message": "injected by the storage fault proxy"}').encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind)]
        else:
            code, message = (
                ("SlowDown", "Please reduce your request rate.")
                if status == 503
                else ("InternalError", "We encountered an internal error. Please try again.")
            )
            data = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>proxy</RequestId></Error>"
            ).encode()
            headers = [("Content-Type", "application/xml")]
        self.answer(status, "Service Unavailable" if status == 503 else "Internal Server Error", headers, data)

    def handle_expect_100(self) -> bool:
        proxy = self.server.proxy
        if proxy._mode == "blackhole":  # no "100 Continue" from a storage that is not there
            started = time.monotonic()
            proxy._wait_while_unreachable()
            reset(self.connection)
            self.close_connection = True
            proxy._log(
                self.command, self.path, service_of(self.headers), "blackhole", "reset", time.monotonic() - started
            )
            return False
        return super().handle_expect_100()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # every method: GET, PUT, POST, HEAD, DELETE, ...
            return self.proxy_request
        raise AttributeError(name)

    def proxy_request(self) -> None:
        proxy = self.server.proxy
        service = service_of(self.headers)
        body = self.read_body()
        action = proxy._decide(self.command, self.path, service)
        started = time.monotonic()
        status: int | str = action
        try:
            if action == "blackhole":
                proxy._wait_while_unreachable()
                reset(self.connection)
                self.close_connection = True
            elif action == "reset":
                reset(self.connection)
                self.close_connection = True
            elif action in ("503", "500"):
                self.error(int(action), service)
            else:
                if action.startswith("delay"):
                    time.sleep(float(action.split(":")[1]))
                code, reason, headers, data = self.forward(body)
                status = code
                if action == "lose-answer":
                    status = f"{code}, answer lost"
                    reset(self.connection)
                    self.close_connection = True
                else:
                    self.answer(code, reason, headers, data)
        finally:
            proxy._log(self.command, self.path, service, action, status, time.monotonic() - started)


class StorageFaultProxy:
    """The proxy; use as a context manager (``with StorageFaultProxy(moto_url) as proxy:``)."""

    def __init__(self, upstream: str, log_file: Path | None = None, port: int = 0) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the proxy forwards to loopback addresses only, not {upstream}")
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.stats: Counter[str] = Counter()
        self._faults = Faults.none()
        self._rng = random.Random(0)
        self._commits = 0
        self._lock = threading.Lock()
        self._mode = "reachable"  # or "refuse", "blackhole"
        self._mode_changed = threading.Condition(self._lock)
        self._open: set[socket.socket] = set()
        self._log_file: IO[str] | None = log_file.open("a", buffering=1) if log_file else None
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> StorageFaultProxy:
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.proxy = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"storage-fault-proxy:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        self.reachable()
        self._stop_listening()
        self._reset_open()
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> StorageFaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what the test sets ------------------------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._commits = 0
        self._log_line(f"faults {faults}")

    def unreachable(self, how: str = "refuse") -> None:
        """Storage unreachable until reachable(): 'refuse' (connections refused) or 'blackhole'."""
        if how not in ("refuse", "blackhole"):
            raise ValueError(how)
        with self._lock:
            self._mode = how
            self._mode_changed.notify_all()
        self._log_line(f"unreachable ({how})")
        if how == "refuse":
            self._stop_listening()
            self._reset_open()

    def reachable(self) -> None:
        with self._lock:
            was, self._mode = self._mode, "reachable"
            self._mode_changed.notify_all()
        if was != "reachable":
            self._log_line(f"reachable again (was {was})")
        if was == "refuse":
            self.start()  # the same port again

    # --- internals ---------------------------------------------------------------------------------

    def _decide(self, method: str, path: str, service: str) -> str:
        with self._lock:
            if self._mode != "reachable":
                return "blackhole" if self._mode == "blackhole" else "reset"
            faults, rng = self._faults, self._rng
            if is_commit(method, path, service):
                # every 1/rate-th commit, deterministically: a short spell loses some whatever the timing
                seen, self._commits = self._commits, self._commits + 1
                if int((seen + 1) * faults.lose_commit_answers) > int(seen * faults.lose_commit_answers):
                    return "lose-answer"
            if rng.random() < faults.lose_answers:
                return "lose-answer"
            if rng.random() < faults.error_rate:
                return rng.choice(("503", "500", "reset"))
            if rng.random() < faults.delay_rate:
                return f"delay:{rng.uniform(*faults.delay_s):.2f}"
            return "forward"

    def _wait_while_unreachable(self) -> None:
        with self._lock:
            while self._mode == "blackhole":
                self._mode_changed.wait(0.5)

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)
        if self._mode == "refuse":  # accepted just before the listener closed
            reset(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _reset_open(self) -> None:
        with self._lock:
            open_sockets, self._open = list(self._open), set()
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            reset(sock)

    def _log(self, method: str, path: str, service: str, action: str, status, seconds: float) -> None:
        kind = action.split(":")[0]
        with self._lock:
            self.stats[kind] += 1
            if is_commit(method, path, service):
                self.stats[f"commit {kind}"] += 1
        self._log_line(f"{service:8} {method:6} {path[:120]} -> {action} {status} ({seconds:.2f}s)")

    def _log_line(self, text: str) -> None:
        if self._log_file:
            self._log_file.write(f"{time.strftime('%H:%M:%S')} {text}\n")
