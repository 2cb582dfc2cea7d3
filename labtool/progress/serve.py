"""`labtool progress --serve`: the class board served over HTTP (standard library only), the
labs re-read every N seconds side by side. The page is made from the last reads; a lab that
cannot be read keeps the time of its last good read and says it is unreachable, and the
others stay live. The reads run in the calling (main) thread, where Ctrl-C stops them; the
HTTP server runs in a daemon thread."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from labtool.progress.model import Progress
from labtool.progress.page import board_html


def parse_address(text: str) -> tuple[str, int]:
    """'[ADDRESS:]PORT' -> (address, port); the address defaults to 127.0.0.1."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: expected [ADDRESS:]PORT, e.g. 8000 or 127.0.0.1:8000")
    return (host.strip("[]") or "127.0.0.1"), int(port)


class Board:
    """The labs' last reads, shared between the reading loop and the HTTP server."""

    def __init__(self, title: str, labs: list[str], names: dict[str, str], refresh: int) -> None:
        self.title, self.names, self.refresh = title, names, refresh
        self._lock = threading.Lock()
        self._last = {lab: Progress(lab=lab, error="not read yet") for lab in labs}

    def update(self, reads: dict[str, Progress]) -> None:
        """Take a round of reads. A lab that could not be read keeps its last good read's
        time, and says it is unreachable."""
        with self._lock:
            for lab, p in reads.items():
                before = self._last.get(lab)
                if p.error and before is not None:  # the time of the last good read stays
                    p.read_at = before.read_at
                self._last[lab] = p

    def progresses(self) -> list[Progress]:
        with self._lock:
            return list(self._last.values())

    def html(self) -> str:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return board_html(self.title, self.progresses(), self.names, refresh=self.refresh, generated=now)


def _handler(board: Board):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path not in ("/", "/index.html"):
                self.send_error(404)
                return
            body = board.html().encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # the terminal shows the rounds, not each GET
            pass

    return Handler


def start_server(board: Board, address: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((address, port), _handler(board))
    threading.Thread(target=server.serve_forever, name="board-http", daemon=True).start()
    return server


def serve(board: Board, read: Callable[[], dict[str, Progress]], address: str, port: int,
          every: int, echo: Callable[[str], None], rounds: int | None = None) -> None:
    """Serve the board and re-read the labs every ``every`` seconds (``rounds``: stop after
    that many, for tests; default: until Ctrl-C)."""
    server = start_server(board, address, port)
    host, real_port = server.server_address[:2]
    echo(f"labtool progress: the class board is on http://{host}:{real_port}/ "
         f"(labs re-read every {every} s; Ctrl-C stops)")
    done = 0
    try:
        while rounds is None or done < rounds:
            started = time.monotonic()
            reads = read()
            board.update(reads)
            done += 1
            late = [lab for lab, p in reads.items() if p.error or p.unreachable]
            echo(f"{datetime.now():%H:%M:%S} read {len(reads)} labs in {time.monotonic() - started:.1f} s"
                 + (f"; not fully read: {', '.join(late)}" if late else ""))
            if rounds is not None and done >= rounds:
                break
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    finally:
        server.shutdown()
        server.server_close()
