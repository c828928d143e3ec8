"""Pretrained open-unmix weights, fetched on request (``mer-audiolime separators fetch umxhq``), never behind
the user's back.

The weights of open-unmix's pretrained separators live on Zenodo; the URLs are the ones the installed
``openunmix`` package itself uses (its ``<model>_spec`` functions). :func:`fetch_weights` downloads them into
the folder torch.hub reads (``$TORCH_HOME/hub/checkpoints``), where ``openunmix.umxhq()`` and
:class:`~mer_audiolime.explain.openunmix_separator.OpenUnmixSeparator` find them offline from then on.

Every file is verified before it is put in place:

1. it is not empty;
2. its sha256 starts with the hash prefix in its file name (``vocals-b62c91ce.pth``: torch.hub's naming
   convention, the check ``torch.hub.load_state_dict_from_url(..., check_hash=True)`` would make);
3. ``torch.load(..., weights_only=True)`` reads it as a non-empty mapping of tensors (no pickled code runs).

Its full sha256 is then recorded beside it as ``<file>.sha256`` (``sha256sum -c`` format) and returned.
A file that fails a check is discarded and nothing is put in place.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ChecksumError, ParameterError, WeightsError

__all__ = [
    "PRETRAINED_SEPARATORS",
    "FETCH_COMMAND",
    "FetchedFile",
    "checkpoint_dir",
    "weight_urls",
    "weight_paths",
    "fetch_weights",
    "verify_weights_file",
]

#: open-unmix's pretrained separators (each has a ``<name>_spec`` function holding its weight URLs).
PRETRAINED_SEPARATORS = ("umxhq", "umxl", "umx", "umxse")
#: The command that fetches a separator's weights (``{name}`` is filled in).
FETCH_COMMAND = "mer-audiolime separators fetch {name}"

_URL_ENTRY = re.compile(r"""["'](?P<target>\w+)["']\s*:\s*["'](?P<url>https?://[^"']+)["']""")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FetchedFile:
    """One verified weights file.

    Attributes
    ----------
    target : str
        The stem it separates (``vocals``, ``drums``, ...).
    path : Path
        Where it is now.
    sha256 : str
        Its full sha256 (also written to ``<path>.sha256``).
    size : int
        Bytes.
    url : str
        Where it came from (or would have come from, for a file that was already present).
    downloaded : bool
        False when a verified copy was already in place.
    """

    target: str
    path: Path
    sha256: str
    size: int
    url: str
    downloaded: bool


def checkpoint_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints``: where torch.hub, open-unmix and this package look for the weights."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def _check_name(model: str) -> str:
    if model not in PRETRAINED_SEPARATORS:
        raise ParameterError(
            f"{model!r} is not one of open-unmix's pretrained separators {list(PRETRAINED_SEPARATORS)}; "
            "`mer-audiolime separators list` shows every separator and what it needs."
        )
    return model


def weight_urls(model: str, *, targets=None) -> dict:
    """``{target: url}`` of a pretrained open-unmix separator, read from the installed ``openunmix`` package.

    Parameters
    ----------
    model : {"umxhq", "umxl", "umx", "umxse"}
    targets : sequence of str, optional
        Keep only these targets (default: all the model has).

    Examples
    --------
    >>> sorted(weight_urls("umxhq"))                                  # doctest: +SKIP
    ['bass', 'drums', 'other', 'vocals']
    """
    import openunmix

    _check_name(model)
    spec_fn = getattr(openunmix, f"{model}_spec", None)
    if spec_fn is None:
        raise WeightsError(f"the installed openunmix has no {model}_spec; upgrade openunmix (>= 1.3).")
    urls = {m.group("target"): m.group("url") for m in _URL_ENTRY.finditer(inspect.getsource(spec_fn))}
    if not urls:
        raise WeightsError(f"could not read the weight URLs of {model!r} from openunmix.{model}_spec.")
    if targets is None:
        return urls
    unknown = [t for t in targets if t not in urls]
    if unknown:
        raise ParameterError(f"{model} has no target(s) {unknown}; its targets are {sorted(urls)}.")
    return {t: urls[t] for t in targets}


def _filename(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def weight_paths(model: str, *, targets=None, folder=None) -> dict:
    """``{target: Path}``: where each weights file of ``model`` is expected (in ``folder``, default
    :func:`checkpoint_dir`). Nothing is read: ``path.is_file()`` says whether it is there, and
    :func:`verify_weights_file` checks it."""
    folder = Path(folder) if folder is not None else checkpoint_dir()
    return {target: folder / _filename(url) for target, url in weight_urls(model, targets=targets).items()}


def _hash_prefix(filename: str) -> str | None:
    import torch.hub

    match = torch.hub.HASH_REGEX.search(filename)
    return match.group(1) if match and match.group(1) else None


def verify_weights_file(path, *, sha256: str | None = None) -> str:
    """Check a downloaded weights file and return its sha256.

    Checks, in order: the file is not empty; its sha256 starts with the hash prefix its name carries
    (torch.hub's ``<name>-<sha256 prefix>.pth`` convention; names without one skip this check); it loads
    with ``torch.load(weights_only=True)`` as a non-empty mapping of tensors.

    Parameters
    ----------
    path : path-like
    sha256 : str, optional
        The file's sha256 if already computed (e.g. while downloading).

    Raises
    ------
    ChecksumError
        Empty, or the hash does not match the name.
    WeightsError
        Not loadable as a state dict of tensors.
    """
    import torch

    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ChecksumError(f"{path.name} is empty (0 bytes); the download was cut off or the server sent "
                            "nothing.")
    digest = sha256 or _sha256(path)
    prefix = _hash_prefix(path.name)
    if prefix and not digest.startswith(prefix):
        raise ChecksumError(
            f"{path.name} has sha256 {digest}, but its name says it starts with {prefix}: the file is "
            "corrupted or was replaced."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"{path.name} does not load as torch weights (weights_only=True): "
                           f"{type(err).__name__}: {err}") from err
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsError(f"{path.name} is not a state dict of tensors (got {type(state).__name__}); it is "
                           "not an open-unmix weights file.")
    return digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _record(path: Path, digest: str) -> None:
    (path.parent / f"{path.name}.sha256").write_text(f"{digest}  {path.name}\n", encoding="utf-8")


def _download(url: str, target: Path, *, timeout: float, progress: bool) -> str:
    """Stream ``url`` to a temporary file beside ``target``, verify it and move it in place; return its
    sha256."""
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        digest = hashlib.sha256()
        request = urllib.request.Request(url, headers={"User-Agent": "mer_audiolime"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
                total = response.headers.get("Content-Length")
                with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, unit_divisor=1024,
                          desc=target.name, disable=not progress, leave=False) as bar:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise WeightsError(f"could not download {url} ({err}).") from err
        sha = verify_weights_file(tmp, sha256=digest.hexdigest())
        os.replace(tmp, target)
        return sha
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_weights(model: str, *, targets=None, folder=None, base_url: str | None = None, force: bool = False,
                  timeout: float = 120.0, progress: bool = True) -> list:
    """Download and verify the pretrained weights of an open-unmix separator.

    Parameters
    ----------
    model : {"umxhq", "umxl", "umx", "umxse"}
    targets : sequence of str, optional
        Only these targets (default: all of the model's).
    folder : path, optional
        Destination (default :func:`checkpoint_dir`, i.e. ``$TORCH_HOME/hub/checkpoints``, where open-unmix
        looks for them).
    base_url : str, optional
        Fetch the same file names from this location instead of open-unmix's URLs (a mirror, a local copy
        as ``file:///path/``, or a test server).
    force : bool
        Download again even when a verified copy is present.
    timeout : float
        Seconds to wait for the server.
    progress : bool
        tqdm bar per file.

    Returns
    -------
    list of FetchedFile
        One per target, in the model's target order.

    Raises
    ------
    WeightsError
        A download failed (the message names the URL and what to do offline) or a file is not loadable.
    ChecksumError
        A file's content does not match its name; it was discarded.

    Examples
    --------
    >>> files = fetch_weights("umxhq")                                   # doctest: +SKIP
    >>> [f.path.name for f in files]                                     # doctest: +SKIP
    ['vocals-b62c91ce.pth', 'drums-9619578f.pth', 'bass-8d85a5bd.pth', 'other-b52fbbf7.pth']
    """
    urls = weight_urls(model, targets=targets)
    folder = Path(folder) if folder is not None else checkpoint_dir()
    out = []
    for target, url in urls.items():
        name = _filename(url)
        origin = url
        if base_url is not None:
            url = f"{str(base_url).rstrip('/')}/{name}"
        path = folder / name
        if path.is_file() and not force:
            try:
                digest = verify_weights_file(path)
            except WeightsError as err:
                raise type(err)(f"{err} It is at {path}: delete it, or rerun with --force to fetch it "
                                "again.") from err
            _record(path, digest)
            out.append(FetchedFile(target, path, digest, path.stat().st_size, url, False))
            continue
        try:
            digest = _download(url, path, timeout=timeout, progress=progress)
        except WeightsError as err:
            raise type(err)(
                f"{err} {name} was not written. If this machine is offline, download it elsewhere (from "
                f"{origin}) and copy it into {folder}, or explain offline with --stems DIR or --separator "
                "tf-grid."
            ) from err
        _record(path, digest)
        out.append(FetchedFile(target, path, digest, path.stat().st_size, url, True))
    return out
