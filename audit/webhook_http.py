"""One signed POST of a webhook delivery, to the address webhook_target checked (no second DNS look-up), within
one overall deadline (a receiver trickling its answer byte by byte is cut off), never following a redirect."""

import http.client
import socket
import ssl
import threading

from django.conf import settings

from audit.webhook_urls import WebhookTarget


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # the certificate must name the host


def webhook_post(*, target: WebhookTarget, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(HTTP status, error); the error names only the kind of failure (no internals of the receiver's network)."""
    deadline = settings.WEBHOOK_TIMEOUT_SECONDS
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target, timeout=deadline)
    fired = threading.Event()
    cut = threading.Timer(deadline, _abort, args=(connection, fired))
    cut.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # the answer's body is not used; a bounded read lets the connection close cleanly
        return response.status, "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as exc:
        if fired.is_set() or isinstance(exc, TimeoutError):
            return None, "timed out"
        return None, "TLS failure" if isinstance(exc, ssl.SSLError) else "connection failed"
    finally:
        cut.cancel()
        connection.close()


def _abort(connection: http.client.HTTPConnection, fired: threading.Event) -> None:
    """The overall deadline passed: shut the socket, which ends the blocked read in the delivering thread."""
    fired.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
