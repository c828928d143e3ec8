"""`mer-audiolime separators fetch`: open-unmix weights on request, downloaded from a local HTTP server on
127.0.0.1 (never the internet), verified before they are put in place, and found offline afterwards."""

import functools
import hashlib
import http.server
import io
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from mer_audiolime.cli import main
from mer_audiolime.exceptions import ChecksumError, ParameterError, WeightsError
from mer_audiolime.explain import fetch
from mer_audiolime.explain.separation import OpenUnmixSeparator


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """A static file server on 127.0.0.1 over ``tmp_path/www``; yields (base URL, folder, requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    seen = []

    class Handler(_Quiet):
        def do_GET(self):
            seen.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", root, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv("MER_AUDIOLIME_ALLOW_DOWNLOAD", raising=False)
    return home / "hub" / "checkpoints"


def _state_bytes(seed: int) -> bytes:
    """A small real state dict (what an open-unmix .pth holds: names -> tensors), serialised."""
    gen = torch.Generator().manual_seed(seed)
    buf = io.BytesIO()
    torch.save({"fc1.weight": torch.randn(4, 3, generator=gen), "bn1.running_mean": torch.zeros(4)}, buf)
    return buf.getvalue()


def _hub_name(target: str, data: bytes) -> str:
    """torch.hub's naming convention: <name>-<first 8 hex digits of the sha256>.pth."""
    return f"{target}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


@pytest.fixture
def served_weights(server, monkeypatch):
    """Two targets of 'umxhq' served with correctly named files; the model's URL table points at them."""
    base, root, seen = server
    files = {}
    for i, target in enumerate(("vocals", "bass")):
        data = _state_bytes(i)
        name = _hub_name(target, data)
        (root / name).write_bytes(data)
        files[target] = (name, data)
    table = {t: f"https://zenodo.example/records/1/files/{name}" for t, (name, _) in files.items()}
    real = fetch.weight_urls

    def urls(model, *, targets=None):
        if model != "umxhq":
            return real(model, targets=targets)
        return {t: u for t, u in table.items() if targets is None or t in targets}

    monkeypatch.setattr(fetch, "weight_urls", urls)
    return base, root, seen, files


def test_weight_urls_are_the_ones_openunmix_requests(monkeypatch):
    """The URL table read from openunmix equals what openunmix itself asks torch.hub for (recorded by a
    stand-in that returns an empty state dict, so nothing is downloaded)."""
    import openunmix

    requested = []

    def record(url, **kwargs):
        requested.append(url)
        return {}

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", record)
    openunmix.umxhq_spec(targets=["vocals", "bass"], pretrained=True)
    assert list(fetch.weight_urls("umxhq", targets=["vocals", "bass"]).values()) == requested
    for model in ("umxhq", "umxl"):
        urls = fetch.weight_urls(model)
        assert sorted(urls) == ["bass", "drums", "other", "vocals"]
        for url in urls.values():
            assert url.startswith("https://zenodo.org/records/")
            assert torch.hub.HASH_REGEX.search(url.rsplit("/", 1)[-1]), url  # names carry a hash prefix
    assert fetch.weight_urls("umxhq")["vocals"].endswith("/vocals-b62c91ce.pth")


def test_fetch_downloads_verifies_records_and_is_found_offline(served_weights, torch_home, capsys):
    base, root, seen, files = served_weights
    assert main(["separators", "fetch", "umxhq", "--base-url", base, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert sorted(seen) == sorted(f"/{name}" for name, _ in files.values())  # came from the local server
    for target, (name, data) in files.items():
        path = torch_home / name
        assert path.read_bytes() == data
        digest = hashlib.sha256(data).hexdigest()
        assert (torch_home / f"{name}.sha256").read_text() == f"{digest}  {name}\n"  # sha256sum -c format
        assert str(path) in out and digest in out
    assert "downloaded, verified" in out and "ready offline" in out
    assert not list(torch_home.glob("*.partial"))
    # the separator now finds its files offline (the check that precedes building open-unmix)
    OpenUnmixSeparator("umxhq", targets=["vocals", "bass"])._check_weights_present()
    # a second fetch verifies what is there and downloads nothing
    seen.clear()
    assert main(["separators", "fetch", "umxhq", "--base-url", base, "--no-progress"]) == 0
    assert seen == [] and "already present, verified" in capsys.readouterr().out


def test_list_shows_what_is_available_offline(served_weights, torch_home, capsys):
    base, _, _, _ = served_weights
    assert main(["separators", "list"]) == 0
    out = capsys.readouterr().out
    umxhq = next(line for line in out.splitlines() if line.startswith("umxhq"))
    assert "no (2 of 2 files missing)" in umxhq and "separators fetch umxhq" in umxhq
    assert "tf-grid" in out and "--stems DIR" in out and str(torch_home) in out
    from mer_audiolime.explain.separators import list_separators

    for name in list_separators():  # shipped separators work offline
        row = next(line for line in out.splitlines() if line.startswith(f"{name} "))
        assert "yes (shipped)" in row and row.endswith(f"--separator {name}")
    fetch.fetch_weights("umxhq", targets=["vocals"], base_url=base, progress=False)
    assert main(["separators", "list"]) == 0
    umxhq = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("umxhq"))
    assert "no (1 of 2 files missing)" in umxhq
    fetch.fetch_weights("umxhq", base_url=base, progress=False)
    assert main(["separators", "list"]) == 0
    umxhq = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("umxhq"))
    assert " yes " in umxhq and "ready" in umxhq


def _serve_as(root: Path, name: str, data: bytes, monkeypatch):
    (root / name).write_bytes(data)
    monkeypatch.setattr(fetch, "weight_urls",
                        lambda model, *, targets=None: {"vocals": f"https://zenodo.example/files/{name}"})


@pytest.mark.parametrize("case", ["wrong hash", "empty", "not torch", "not a state dict"])
def test_bad_downloads_are_discarded(case, server, torch_home, monkeypatch):
    base, root, _ = server
    good = _state_bytes(0)
    if case == "wrong hash":  # content that does not match the hash in its name (a corrupted transfer)
        data, name = good[:-1] + bytes([good[-1] ^ 1]), _hub_name("vocals", good)
        error, match = ChecksumError, "name says it starts with"
    elif case == "empty":
        data, name, error, match = b"", "vocals-e3b0c442.pth", ChecksumError, "empty"
    elif case == "not torch":
        data = b"<html>rate limited</html>"
        name, error, match = _hub_name("vocals", data), WeightsError, "does not load as torch weights"
    else:
        buf = io.BytesIO()
        torch.save([torch.zeros(2)], buf)
        data = buf.getvalue()
        name, error, match = _hub_name("vocals", data), WeightsError, "not a state dict"
    _serve_as(root, name, data, monkeypatch)
    with pytest.raises(error, match=match) as info:
        fetch.fetch_weights("umxhq", base_url=base, progress=False)
    assert "--separator tf-grid" in str(info.value)  # the offline way out
    assert not torch_home.exists() or list(torch_home.iterdir()) == []  # nothing put in place, no .partial


def test_unreachable_server_and_missing_file(server, torch_home, monkeypatch, capsys):
    base, root, _ = server
    _serve_as(root, "vocals-00000000.pth", b"x", monkeypatch)
    (root / "vocals-00000000.pth").unlink()  # 404
    with pytest.raises(WeightsError, match="404") as info:
        fetch.fetch_weights("umxhq", base_url=base, progress=False)
    assert "https://zenodo.example/files/vocals-00000000.pth" in str(info.value)  # where to get it by hand
    assert main(["separators", "fetch", "umxhq", "--base-url", "http://127.0.0.1:9/", "--no-progress"]) == 1
    assert "could not download http://127.0.0.1:9/vocals-00000000.pth" in capsys.readouterr().err


def test_a_corrupted_file_in_place_is_reported_not_used(served_weights, torch_home):
    base, _, _, files = served_weights
    fetch.fetch_weights("umxhq", targets=["vocals"], base_url=base, progress=False)
    path = torch_home / files["vocals"][0]
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ChecksumError, match="--force"):
        fetch.fetch_weights("umxhq", targets=["vocals"], base_url=base, progress=False)
    fetch.fetch_weights("umxhq", targets=["vocals"], base_url=base, progress=False, force=True)
    assert path.read_bytes() == files["vocals"][1]


def test_unknown_names_and_targets():
    with pytest.raises(ParameterError, match="separators list"):
        fetch.weight_urls("spleeter")
    with pytest.raises(ParameterError, match="has no target"):
        fetch.weight_urls("umxhq", targets=["piano"])


def test_missing_weights_error_says_how_to_get_them(torch_home, tmp_path, capsys):
    """The error names the fetch command, the local-directory form and both offline alternatives."""
    with pytest.raises(WeightsError) as info:
        OpenUnmixSeparator("umxl").separate(np.ones((1, 4410), np.float32) * 0.1, sr=44100)
    msg = str(info.value)
    for needle in ("mer-audiolime separators fetch umxl", "--separator path/to/dir", "--stems DIR",
                   "--separator tf-grid", str(torch_home), "vocals-bccbd9aa.pth"):
        assert needle in msg, needle
    # and the explain command shows it as a one-line-per-hint error, without a traceback
    import soundfile as sf

    from conftest import RESOURCES

    wav = tmp_path / "x.wav"
    sf.write(wav, (0.1 * np.sin(np.arange(22050) / 5)).astype(np.float32), 22050)
    code = main(["explain", str(wav), "--model", f"{RESOURCES / 'models' / 'analytic_model.py'}:build",
                 "--separator", "umxhq", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "\n    mer-audiolime separators fetch umxhq\n" in err
