"""A real HTTP receiver for the webhook tests: a threaded server on 127.0.0.1 answering from a script of statuses
(the last one repeats) and keeping every request it got. A status may also be "redirect" (302 to another place) or
"trickle" (200, sent one byte every 0.1 s: each read is quick, the whole answer is not)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    url: str
    statuses: list[int | str]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # (headers in lower case, body)


@contextmanager
def webhook_receiver(statuses: list[int | str]) -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(({name.lower(): value for name, value in self.headers.items()}, body))
            status = state.statuses[min(len(state.requests), len(state.statuses)) - 1]
            if status == "trickle":
                try:
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass  # the service hung up at its deadline, as it should
                return
            if status == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            else:
                self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(url=f"http://127.0.0.1:{server.server_port}/hook", statuses=statuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
