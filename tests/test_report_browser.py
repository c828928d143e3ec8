"""The report pages in a real browser: headless Chromium (Debian's ``chromium``) opens them from file://,
every <audio> element loads its metadata with a positive finite duration, the console stays clean, nothing
but the page itself and data: URIs is requested, and a screenshot is kept in test-artifacts/.

Chromium is driven over the DevTools protocol on a pipe (tests/chromium_cdp.py): standard library only.
Without Chromium the test is skipped locally, but fails when $CI is set (`.ci/run` installs it)."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from mer_audiolime.report import write_explanation_html, write_run_report

from chromium_cdp import Chromium, find_chromium
from report_helpers import evaluation_run, explanation

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

WAIT_FOR_AUDIO = """
Promise.all(Array.from(document.querySelectorAll('audio')).map((a, i) => new Promise(resolve => {
  const done = () => resolve({i, duration: a.duration, error: a.error ? a.error.code : null,
                              state: a.readyState});
  if (a.readyState >= 1 || a.error) { done(); return; }
  a.addEventListener('loadedmetadata', done, {once: true});
  a.addEventListener('error', done, {once: true});
  setTimeout(done, 20000);
})))
"""


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed but $CI is set: .ci/run must install it "
                        "(apt-get install -y chromium) so the browser test cannot be skipped silently")
        pytest.skip("chromium not installed (apt-get install chromium); required in CI")
    return path


#: Widths that overflow the page: the document itself, and every table container (a table wider than its
#: container scrolls sideways and hides columns).
OVERFLOW = """({page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  tables: Array.from(document.querySelectorAll('.tbl')).map(t => t.scrollWidth - t.clientWidth),
  images: Array.from(document.querySelectorAll('img')).map(i => i.getBoundingClientRect().width
                                                              - document.body.clientWidth)})"""


def _open(executable, page: Path, shot: str, *, script: str | None = None):
    with Chromium(executable) as browser:
        browser.open(page.resolve().as_uri())
        media = browser.evaluate(WAIT_FOR_AUDIO)
        time.sleep(0.2)  # let late console messages arrive before reading them
        browser.evaluate("1")
        title = browser.evaluate("document.title")
        shot_path = browser.screenshot(ARTIFACTS / shot)
        extra = browser.evaluate(script) if script else None
        if script:
            return media, browser.problems(), browser.requested_urls(), title, shot_path, extra
        return media, browser.problems(), browser.requested_urls(), title, shot_path


def _check_clean(problems, urls, page: Path):
    assert problems == [], problems
    own = page.resolve().as_uri()
    assert all(u == own or u.startswith("data:") for u in urls), [u[:80] for u in urls]


def test_explanation_page_in_chromium(chromium, tmp_path):
    exp = explanation()
    page = write_explanation_html(exp, tmp_path / "report.html", top_k=2)
    media, problems, urls, title, shot = _open(chromium, page, "report_explanation.png")
    n_stems = len(exp.components.stem_names())
    assert len(media) == page.read_text().count("<audio") >= 1 + n_stems + 1
    for m in media:
        assert m["error"] is None and m["state"] >= 1, m
        assert np.isfinite(m["duration"]) and m["duration"] > 0, m
    duration = exp.components.mix.shape[-1] / exp.components.sample_rate
    # mix and stems play the whole clip
    assert all(abs(m["duration"] - duration) < 1e-3 for m in media[: 1 + n_stems])
    assert all(m["duration"] <= duration + 1e-3 for m in media)
    assert title.startswith("Explanation of")
    _check_clean(problems, urls, page)
    assert shot.stat().st_size > 10_000


def test_run_summary_and_track_page_in_chromium(chromium, tmp_path):
    rep = write_run_report(evaluation_run(tmp_path), tracks=1, top_k=1, progress=False)
    media, problems, urls, title, _, widths = _open(chromium, rep.path, "report_run_summary.png",
                                                    script=OVERFLOW)
    assert media == [] and title.startswith("Evaluation:")
    _check_clean(problems, urls, rep.path)
    # the summary fits a 1200-px window: nothing scrolls sideways, no table hides columns
    assert widths["page"] <= 0 and max(widths["tables"]) <= 0 and max(widths["images"]) <= 0, widths
    track = next(iter(rep.track_pages.values()))
    media, problems, urls, _, _ = _open(chromium, track, "report_run_track.png")
    assert len(media) >= 1 + 5 + 2 and all(m["error"] is None and m["duration"] > 0 for m in media)
    assert abs(media[0]["duration"] - 2.0) < 1e-3  # the synthetic clips last 2 s
    _check_clean(problems, urls, track)


def test_the_browser_checks_can_fail(chromium, tmp_path):
    """Negative control: a broken clip, a script error and a blocked network request are all reported."""
    from mer_audiolime.report._html import page as html_page

    broken = tmp_path / "broken.html"
    body = ('<audio controls src="data:audio/wav;base64,AAAA"></audio>'
            '<img src="http://127.0.0.1:9/x.png"><img src="data:image/png;base64,AAAA">')
    broken.write_text(html_page("broken", body).replace("</body>", "<script>undefinedCall()</script></body>"))
    media, problems, urls, _, _ = _open(chromium, broken, "report_negative_control.png")
    assert media[0]["error"] is not None or not media[0]["duration"] > 0
    text = " ".join(problems)
    assert "Content Security Policy" in text  # the http image and the inline script were refused
    assert any(u.startswith("http:") for u in urls)  # ... and _check_clean would have caught the attempt


# -- a new user's day with a real recording (README: explain ... --html, then open the page) -----------------

def _band_stems(path, folder: Path):
    """Three "stems" of a real recording (low / mid / high STFT bands, summing to it), written as WAV files:
    what a user brings from a separator of their own to ``explain --stems``."""
    import librosa
    import soundfile as sf

    from mer_audiolime.audio import load_audio

    y, sr = load_audio(path)
    spec = librosa.stft(y[0], n_fft=2048, hop_length=512)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=2048)
    folder.mkdir()
    for name, lo, hi in (("low", 0, 250), ("mid", 250, 2000), ("high", 2000, np.inf)):
        keep = ((freqs >= lo) & (freqs < hi))[:, None]
        sf.write(folder / f"{name}.wav", librosa.istft(spec * keep, hop_length=512, length=y.shape[1]), sr,
                 subtype="FLOAT")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("how", ["tf-grid", "stems"])
def test_a_real_recording_explained_and_opened_like_a_new_user(chromium, shared_audio, tmp_path, how):
    """README's command on a real 60-s excerpt, with --separator tf-grid and with --stems: the page is at most
    5 MB, every player loads, the mix lasts 60 s and each top-k player only its segment, the top components
    are ranked by size with their sign, bands read in Hz, and the model's scale and training data are
    named."""
    import re

    from mer_audiolime.cli import main

    song = shared_audio / "Kevin_MacLeod_-_Vibe_Ace.ogg"
    out = tmp_path / how
    source = (["--separator", "tf-grid"] if how == "tf-grid"
              else ["--stems", str(_band_stems(song, tmp_path / "stems"))])
    assert main(["explain", str(song), "--model", "a2mid2e_synth_clean", *source, "--segments", "6",
                 "--duration", "60", "--num-samples", "16", "--top-k", "3", "--out", str(out), "--html",
                 "--no-progress"]) == 0
    page = out / "report.html"
    size = page.stat().st_size
    print(f"\n{how}: a 60-s page is {size / 1e6:.2f} MB")
    assert size <= 5_000_000
    media, problems, urls, title, _, widths = _open(chromium, page, f"report_real_{how}.png", script=OVERFLOW)
    _check_clean(problems, urls, page)
    assert title == "Explanation of Kevin_MacLeod_-_Vibe_Ace.ogg"
    assert media and all(m["error"] is None and m["duration"] > 0 for m in media), media
    assert abs(media[0]["duration"] - 60.0) < 0.05  # the mix: the whole excerpt
    html = page.read_text(encoding="utf-8")
    n_sources = len(re.findall(r'<div class="label">(?:band|stem): ', html))
    assert n_sources == (5 if how == "tf-grid" else 3)  # four bands and the STFT residual / the three stems
    top = media[1 + n_sources: 1 + n_sources + 3]  # the first target's top 3
    assert len(top) == 3 and all(m["duration"] < 10.0 + 0.2 for m in top), top  # one 10-s segment each
    assert "Top 3 components by |weight|, the sign shown" in html
    weights = re.findall(r"weight ([+-]\d[^ ]*) \(", html)  # player notes: signed weights
    assert weights and all(w[0] in "+-" for w in weights)
    assert "Top positive (raise valence)" in html and "Top negative (lower valence)" in html
    if how == "tf-grid":
        assert re.search(r"band: f0: 0–\d+ Hz", html) and re.search(r"f3: \d+–11025 Hz", html)
    assert "prediction on the synthetic annotation scale" in html
    # the overview row names the training data from the model card (its wording lives in the card)
    trained = re.search(r"<td>trained on</td><td>([^<]*)</td>", html)
    assert trained and "synthetic audio" in trained.group(1) and "never trained on real recordings" in trained.group(1)
    assert widths["page"] <= 0 and max(widths["images"]) <= 0, widths
