"""A Hugging Face hub (and plain URL) server on 127.0.0.1 for download tests: never the real network.

Serves `files` {url path: bytes} with the headers `huggingface_hub.hf_hub_download` reads (commit, ETag,
size); a hub file is at `/{repo_id}/resolve/{revision}/{filename}`. Every request is logged in `requests`.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from contextlib import contextmanager
from typing import Iterator


class HubServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, body: bool) -> None:
                server.requests.append((self.command, self.path))
                data = server.files.get(self.path.split("?")[0])
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", "c" * 40)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self) -> None:
                self._answer(False)

            def do_GET(self) -> None:
                self._answer(True)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def add_hub_file(self, repo_id: str, filename: str, data: bytes, revision: str = "main") -> None:
        self.files[f"/{repo_id}/resolve/{revision}/{filename}"] = data


@contextmanager
def hub_server() -> Iterator[HubServer]:
    server = HubServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(5)
