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


def _open(executable, page: Path, shot: str):
    with Chromium(executable) as browser:
        browser.open(page.resolve().as_uri())
        media = browser.evaluate(WAIT_FOR_AUDIO)
        time.sleep(0.2)  # let late console messages arrive before reading them
        browser.evaluate("1")
        title = browser.evaluate("document.title")
        shot_path = browser.screenshot(ARTIFACTS / shot)
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
    rep = write_run_report(evaluation_run(tmp_path), tracks=1, top_k=1)
    media, problems, urls, title, _ = _open(chromium, rep.path, "report_run_summary.png")
    assert media == [] and title.startswith("Evaluation:")
    _check_clean(problems, urls, rep.path)
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
