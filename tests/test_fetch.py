"""`planner data fetch` against a local HTTP server standing in for the publishers and for a mirror."""

import hashlib
import http.server
import logging
import os
import re
import threading
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import datasets
from planner.cli import app
from planner.datasets import Source, fetch, load_manifest
from planner.errors import FetchError, OptionError


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; records every GET path; can corrupt a file's last ten bytes."""

    corrupt: set[str] = set()  # noqa: RUF012
    gets: list[str] = []  # noqa: RUF012

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.gets.append(self.path)
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if path.name in self.corrupt:
            body = body[:-10] + b"0123456789"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(root: Path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def server(tmp_path):
    """(root served, its URL): ``root/mirror/...`` is a mirror in the data layout, ``root/pub/...`` a publisher."""
    root = tmp_path / "www"
    (root / "mirror" / "boundaries").mkdir(parents=True)
    (root / "pub").mkdir()
    Handler.corrupt, Handler.gets = set(), []
    httpd, url = _serve(root)
    yield root, url
    httpd.shutdown()


def _source(root, name, payload, *, url=""):
    """A source whose mirror copy (and publisher copy, when ``url`` is given) holds ``payload``."""
    (root / "mirror" / "boundaries" / name).write_bytes(payload)
    (root / "pub" / name).write_bytes(payload)
    return Source(
        name=name,
        dest=f"boundaries/{name}",
        url=url,
        page="https://publisher.example/page",
        sha256=hashlib.sha256(payload).hexdigest(),
        bytes=len(payload),
        licence="OGL",
        attribution="a",
    )


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_download_verifies_and_writes_nothing_else(server, tmp_path):
    root, url = server
    payload = bytes(range(256)) * 800
    src = _source(root, "a.bin", payload)
    out = tmp_path / "data"
    [result] = fetch(out, base_url=f"{url}/mirror", sources=[src])
    assert result.status == "downloaded"
    assert result.sha256 == hashlib.sha256(payload).hexdigest()
    assert (out / "boundaries" / "a.bin").read_bytes() == payload
    assert _files(out) == ["boundaries/a.bin"]  # no temporary file, no pooch cache or registry file
    assert Handler.gets == ["/mirror/boundaries/a.bin"]


def test_present_file_is_not_downloaded_again(server, tmp_path):
    root, url = server
    src = _source(root, "a.bin", b"x" * 5000)
    out = tmp_path / "data"
    fetch(out, base_url=f"{url}/mirror", sources=[src])
    for verify in (True, False):
        [again] = fetch(out, base_url=f"{url}/mirror", sources=[src], verify=verify)
        assert (again.status, again.sha256) == ("present", src.sha256)
    assert len(Handler.gets) == 1


def test_wrong_file_already_there_is_replaced(server, tmp_path, caplog):
    root, url = server
    src = _source(root, "a.bin", b"x" * 5000)
    target = tmp_path / "data" / "boundaries" / "a.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    with caplog.at_level(logging.WARNING, logger="planner.datasets"):
        [result] = fetch(tmp_path / "data", base_url=f"{url}/mirror", sources=[src])
    assert result.status == "downloaded"
    assert target.read_bytes() == b"x" * 5000
    assert f"replaced {target}, whose sha256 did not match the manifest" in caplog.text


def test_downloads_follow_the_umask_and_a_failure_leaves_no_folders(server, tmp_path):
    """Files are readable by whoever may read new files (not pooch's private 0600); a failed fetch
    leaves neither files nor the empty folders made for them, and says which files did arrive."""
    root, url = server
    good, bad = _source(root, "a.bin", b"x" * 5000), _source(root, "c.bin", b"y" * 5000)
    Handler.corrupt.add("c.bin")
    old = os.umask(0o022)
    try:
        [result] = fetch(tmp_path / "one", base_url=f"{url}/mirror", sources=[good])
    finally:
        os.umask(old)
    assert result.path.stat().st_mode & 0o777 == 0o644
    out = tmp_path / "two"
    with pytest.raises(FetchError) as info:
        fetch(out, base_url=f"{url}/mirror", sources=[good, bad], retries=1)
    assert [r.name for r in info.value.done] == ["a.bin"] and _files(out) == ["boundaries/a.bin"]
    with pytest.raises(FetchError):
        fetch(tmp_path / "three", base_url=f"{url}/mirror", sources=[bad], retries=1)
    assert not (tmp_path / "three").exists()


def test_no_verify_keeps_a_file_already_there_and_says_so(server, tmp_path, caplog):
    root, url = server
    src = _source(root, "a.bin", b"x" * 5000)
    target = tmp_path / "data" / "boundaries" / "a.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"checked by hand")
    with caplog.at_level(logging.WARNING, logger="planner.datasets"):
        [result] = fetch(tmp_path / "data", base_url=f"{url}/mirror", sources=[src], verify=False)
    assert (result.status, result.sha256) == ("present", hashlib.sha256(b"checked by hand").hexdigest())
    assert target.read_bytes() == b"checked by hand" and Handler.gets == []
    assert "kept the file already there (delete it to download again)" in caplog.text


def test_hash_mismatch_is_refused_and_nothing_is_left(server, tmp_path):
    root, url = server
    src = _source(root, "c.bin", b"y" * 5000)
    Handler.corrupt.add("c.bin")
    out = tmp_path / "data"
    with pytest.raises(FetchError) as info:
        fetch(out, base_url=f"{url}/mirror", sources=[src], retries=1)
    message = str(info.value)
    assert message.startswith("c.bin: the file from ")
    assert f"{url}/mirror/boundaries/c.bin" in message
    assert src.sha256 in message and "`verify` off" in message and "check the mirror" in message
    served = re.search(r"has sha256 ([0-9a-f]{64}), not", message)  # the corrupted file's own hash is named
    assert served and served[1] != src.sha256
    assert "Deleted download" not in message  # pooch's own text is not repeated
    assert _files(out) == []


def test_no_verify_accepts_a_changed_file_and_says_so(server, tmp_path, caplog):
    root, url = server
    src = _source(root, "c.bin", b"y" * 5000)
    Handler.corrupt.add("c.bin")
    out = tmp_path / "data"
    with caplog.at_level(logging.WARNING, logger="planner.datasets"):
        [result] = fetch(out, base_url=f"{url}/mirror", sources=[src], verify=False)
    served = b"y" * 4990 + b"0123456789"
    assert (out / "boundaries" / "c.bin").read_bytes() == served
    assert result.sha256 == hashlib.sha256(served).hexdigest() != src.sha256
    assert f"not verified; downloaded {out / 'boundaries' / 'c.bin'}" in caplog.text
    assert result.sha256 in caplog.text


def test_publisher_url_by_default_and_mirror_with_base_url(server, tmp_path):
    root, url = server
    quoted = "Ward%20Crime%20%2824%20months%29.csv"
    src = _source(root, "Ward Crime (24 months).csv", b"z" * 3000, url=f"{url}/pub/{quoted}")
    fetch(tmp_path / "a", sources=[src])
    fetch(tmp_path / "b", base_url=f"{url}/mirror/", sources=[src])
    assert Handler.gets == [
        f"/pub/{quoted}",
        f"/mirror/boundaries/{quoted}",
    ]
    for out in ("a", "b"):
        assert (tmp_path / out / "boundaries" / "Ward Crime (24 months).csv").read_bytes() == b"z" * 3000


def test_missing_on_the_mirror_names_the_url_and_the_fix(server, tmp_path):
    _, url = server
    src = Source("gone", "boundaries/gone.zip", "", "https://publisher.example/page", "0" * 64, 1, "", "")
    with pytest.raises(FetchError) as info:
        fetch(tmp_path, base_url=f"{url}/mirror", sources=[src], retries=1)
    assert str(info.value).startswith(f"gone: {url}/mirror/boundaries/gone.zip answered HTTP 404")
    assert "Check the `base_url` address: the mirror should hold boundaries/gone.zip" in str(info.value)
    assert _files(tmp_path) == []


def test_moved_publisher_file_points_to_the_page(server, tmp_path):
    _, url = server
    src = Source("moved", "boundaries/m.zip", f"{url}/pub/m.zip", "https://publisher.example/page", "0" * 64, 1, "", "")
    with pytest.raises(FetchError, match=r"HTTP 404.*find it on https://publisher\.example/page.*`base_url`"):
        fetch(tmp_path, sources=[src], retries=1)


def test_unreachable_host_fails_after_retries_quietly(tmp_path, caplog, capfd):
    src = Source("d", "boundaries/d", "http://127.0.0.1:9/d", "p", "0" * 64, 1, "", "")
    with caplog.at_level(logging.INFO, logger="planner.datasets"), pytest.raises(FetchError) as info:
        fetch(tmp_path, sources=[src], retries=2, timeout=2)
    assert "d: could not download http://127.0.0.1:9/d after 2 attempt(s)" in str(info.value)
    assert "Check the network" in str(info.value)
    # pooch's retry notice reaches planner's logger, and pooch itself prints nothing
    assert "pooch: Failed to download 'd'. Will attempt the download again 1 more time." in caplog.text
    retry = next(r for r in caplog.records if "Will attempt the download again" in r.getMessage())
    assert retry.levelno == logging.WARNING  # shown without -v: the user sees why the command waits
    assert capfd.readouterr().err == ""


def test_source_without_url_is_skipped_with_the_way_to_get_it(tmp_path):
    src = Source("s", "stations/s.csv", "", "https://somewhere.example", "0" * 64, 1, "", "")
    [result] = fetch(tmp_path, sources=[src])
    assert result.status == "skipped"
    assert "https://somewhere.example" in result.detail and "`base_url`" in result.detail
    assert _files(tmp_path) == []


def test_progress_reaches_the_file_size(server, tmp_path):
    root, url = server
    src = _source(root, "p.bin", b"p" * 300_000)
    calls = []
    fetch(tmp_path, base_url=f"{url}/mirror", sources=[src], progress=lambda *a: calls.append(a))
    assert calls[-1] == ("p.bin", 300_000, 300_000)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(OptionError, match="`retries` must be at least 1"):
        fetch(tmp_path, retries=0, sources=[])
    with pytest.raises(OptionError, match="http:// or https://"):
        fetch(tmp_path, base_url="file:///mnt/mirror", sources=[])


def test_cli_fetch_and_refusal(server, tmp_path, monkeypatch):
    root, url = server
    good, bad = _source(root, "g.bin", b"g" * 4000), _source(root, "b.bin", b"b" * 4000)
    monkeypatch.setattr(datasets, "load_manifest", lambda: [good, bad])
    runner = CliRunner()
    args = ["data", "fetch", "--dest", str(tmp_path / "data"), "--base-url", f"{url}/mirror"]
    result = runner.invoke(app, [*args, "--name", "g.bin"])
    assert result.exit_code == 0, result.output
    assert "g.bin" in result.stdout and "downloaded" in result.stdout
    Handler.corrupt.add("b.bin")
    result = runner.invoke(app, [*args, "--name", "b.bin", "--retries", "1"])
    assert result.exit_code == 2
    assert "b.bin: the file from" in " ".join(result.output.split())
    assert not (tmp_path / "data" / "boundaries" / "b.bin").exists()


def test_manifest_covers_the_data_layout():
    sources = load_manifest()
    names = {s.dest for s in sources}
    for dest in (
        "boundaries/London-wards-2014.zip",
        "stations/front_counters_2017.csv",
        "transit/bus_sequences_2016.csv",
        "calibration/jts04_la_2016.csv",
        "calibration/nhs_hospitals_2016.csv",
        "postcodes/codepoint_open_2025_london.csv.gz",
    ):
        assert dest in names
    assert len(names) == len(sources) == len({s.name for s in sources})
    assert all(len(s.sha256) == 64 and s.licence and s.attribution for s in sources)
    assert all(s.page.startswith("https://") and (not s.url or s.url.startswith("https://")) for s in sources)


@pytest.mark.data
def test_manifest_lists_every_file_of_the_mirror(data_dir):
    on_disk = {str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and p.name != "README.md"}
    assert on_disk == {s.dest for s in load_manifest()}


@pytest.mark.data
def test_fetch_whole_mirror(data_dir, tmp_path):
    """Serve the real mirror and fetch every manifest entry from it, checksums included."""
    httpd, url = _serve(data_dir)
    try:
        results = fetch(tmp_path, base_url=url)
    finally:
        httpd.shutdown()
    assert {r.status for r in results} == {"downloaded"}
    assert len(results) == len(load_manifest())
    assert _files(tmp_path) == sorted(s.dest for s in load_manifest())
