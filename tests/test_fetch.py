"""`planner data fetch` against a local HTTP server that serves the mirror."""

import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

from planner.datasets import Source, fetch, load_manifest
from planner.errors import FetchError


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files with Range support; can cut a transfer or corrupt a file."""

    cut_once: set[str] = set()  # noqa: RUF012
    corrupt: set[str] = set()  # noqa: RUF012
    ranges: list[str] = []  # noqa: RUF012

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        name = path.name
        if name in self.corrupt:
            body = body[:-10] + b"0123456789"
        start = 0
        header = self.headers.get("Range")
        if header:
            self.ranges.append(header)
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if name in self.cut_once:
            self.cut_once.discard(name)
            self.wfile.write(body[start : start + len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    (root / "boundaries").mkdir(parents=True)
    Handler.cut_once, Handler.corrupt, Handler.ranges = set(), set(), []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _source(root, name, payload):
    path = root / "boundaries" / name
    path.write_bytes(payload)
    return Source(
        name=name,
        dest=f"boundaries/{name}",
        url="",
        page="p",
        sha256=hashlib.sha256(payload).hexdigest(),
        bytes=len(payload),
        licence="OGL",
        attribution="a",
    )


def test_download_verifies_and_writes(server, tmp_path):
    root, url = server
    src = _source(root, "a.bin", b"x" * 200_000)
    out = tmp_path / "data"
    [result] = fetch(out, base_url=url, sources=[src], backoff=0)
    assert result.status == "downloaded"
    assert (out / "boundaries" / "a.bin").read_bytes() == b"x" * 200_000
    [again] = fetch(out, base_url=url, sources=[src], backoff=0)
    assert again.status == "present"


def test_interrupted_transfer_resumes(server, tmp_path):
    root, url = server
    payload = bytes(range(256)) * 1000
    src = _source(root, "b.bin", payload)
    Handler.cut_once.add("b.bin")
    out = tmp_path / "data"
    fetch(out, base_url=url, sources=[src], backoff=0)
    assert (out / "boundaries" / "b.bin").read_bytes() == payload
    assert Handler.ranges and Handler.ranges[0].startswith("bytes=")
    assert not (out / "boundaries" / "b.bin.part").exists()


def test_corrupt_file_is_not_written(server, tmp_path):
    root, url = server
    src = _source(root, "c.bin", b"y" * 5000)
    Handler.corrupt.add("c.bin")
    out = tmp_path / "data"
    with pytest.raises(FetchError, match=r"c\.bin: .* sha256 .* expected"):
        fetch(out, base_url=url, sources=[src], backoff=0)
    assert not (out / "boundaries" / "c.bin").exists()
    assert not (out / "boundaries" / "c.bin.part").exists()


def test_unreachable_host_fails_after_retries(tmp_path):
    src = Source(
        name="d",
        dest="boundaries/d",
        url="http://127.0.0.1:9/d",
        page="p",
        sha256="0",
        bytes=1,
        licence="",
        attribution="",
    )
    with pytest.raises(FetchError, match="after 2 attempts"):
        fetch(tmp_path, sources=[src], retries=2, backoff=0, timeout=2)


def test_source_without_url_is_skipped(tmp_path):
    src = Source(
        name="s",
        dest="stations/s.csv",
        url="",
        page="somewhere",
        sha256="0",
        bytes=1,
        licence="",
        attribution="",
    )
    [result] = fetch(tmp_path, sources=[src])
    assert result.status == "skipped"
    assert "somewhere" in result.detail


def test_manifest_covers_the_data_layout():
    names = {s.dest for s in load_manifest()}
    assert "boundaries/London-wards-2014.zip" in names
    assert "stations/front_counters_2017.csv" in names
    assert all(len(s.sha256) == 64 and s.licence and s.attribution for s in load_manifest())


@pytest.mark.data
def test_fetch_whole_mirror(data_dir, tmp_path):
    """Serve the real mirror and fetch every manifest entry from it, checksums included."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(data_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        results = fetch(tmp_path, base_url=f"http://127.0.0.1:{httpd.server_address[1]}", backoff=0)
    finally:
        httpd.shutdown()
    assert {r.status for r in results} == {"downloaded"}
    assert len(results) == len(load_manifest())
