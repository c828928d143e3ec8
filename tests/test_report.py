"""HTML reports: what a page embeds is the explanation's audio (16-bit), names are escaped, nothing is
fetched, and harness summaries link re-computed track pages."""

import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_audiolime.cli import main
from mer_audiolime.exceptions import ParameterError
from mer_audiolime.report import explanation_html, find_runs, write_explanation_html, write_run_report
from mer_audiolime.report._media import wav_bytes

from report_helpers import MODEL, NASTY, evaluation_run, explanation


class _Page(HTMLParser):
    """Collects tags with their attributes, the text, and every URL-bearing attribute."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self.urls, self.labels = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        for key in ("src", "href", "srcset", "poster", "data", "action"):
            if key in attrs:
                self.urls.append((tag, key, attrs[key]))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def players(html: str) -> list:
    """Audio of every player in page order; a player that links to an identical clip yields that clip."""
    by_id, out, current = {}, [], None
    for tag, attrs in parse(html).tags:
        if tag == "div" and attrs.get("class") == "player":
            current = attrs.get("id")
        elif tag == "audio":
            out.append(attrs["src"])
            by_id[current] = attrs["src"]
        elif tag == "a" and attrs.get("href", "").startswith("#clip-"):
            out.append(by_id[attrs["href"][1:]])
    return out


def decode(uri: str):
    assert uri.startswith(("data:audio/flac;base64,", "data:audio/wav;base64,"))
    data = base64.b64decode(uri.split(",", 1)[1])
    info = sf.info(io.BytesIO(data))
    y, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return y.T, sr, info.subtype


@pytest.fixture(scope="module")
def exp():
    return explanation()


@pytest.fixture(scope="module")
def page(exp):
    return explanation_html(exp, top_k=2, context={"track": 'a "quoted" <id>'})


def test_page_plays_mix_stems_and_topk_per_target(exp, page):
    audios = players(page)
    stems = exp.components.stem_names()
    targets = list(exp.chained)  # linear head: the chained emotions are the listenable targets
    assert targets == ["valence", "arousal"]
    assert len(audios) == 1 + len(stems) + len(targets) * (2 + 1)
    assert page.count("<audio") == len(set(audios))  # each distinct clip embedded once
    comps, sr = exp.components, exp.components.sample_rate
    decoded = [decode(a) for a in audios]
    assert all(d[1] == sr and d[2] == "PCM_16" for d in decoded)
    lsb = 1 / 32768
    # the mix and each stem are exactly what the model heard, up to 16-bit quantisation
    np.testing.assert_allclose(decoded[0][0], comps.mix, atol=lsb)
    for (y, _, _), stem in zip(decoded[1:], stems):
        idx = [i for i, s in enumerate(comps.stems) if s == stem]
        np.testing.assert_allclose(y, comps.waveforms[idx].sum(axis=0), atol=lsb)
    # per target: the two largest components by |weight|, cropped to their segments, then their sum
    for t, target in enumerate(targets):
        att = exp.chained[target]
        order = np.argsort(-np.abs(att.weights), kind="stable")[:2]
        block = decoded[1 + len(stems) + 3 * t: 1 + len(stems) + 3 * (t + 1)]
        for (y, _, _), k in zip(block, order):
            a, b = comps.bounds[comps.segments[k]]
            np.testing.assert_allclose(y, comps.waveforms[k][:, a:b], atol=lsb)
        mask = np.zeros(len(comps))
        mask[order] = 1
        starts = [comps.bounds[comps.segments[k]] for k in order]
        a, b = min(s[0] for s in starts), max(s[1] for s in starts)
        np.testing.assert_allclose(block[-1][0], comps.compose(mask)[0][:, a:b], atol=lsb)


def test_page_shows_r2_heatmaps_effects_and_settings(exp, page):
    text = " ".join(parse(page).text)
    for target in ("valence", "arousal"):
        assert f"Target: {target}" in text
        assert f"{exp.chained[target].score:.4g}" in text
    assert "Mid-level effects" in text and f"{exp.midlevel_effects.loc['valence', 'loudness']:.4g}" in text
    images = [a for t, a in parse(page).tags if t == "img"]
    # 2 chained heatmaps + effects chart + heatmaps of the 3 mid-level outputs (the emotions' own LIME fits
    # are not repeated: their chained version is shown)
    assert len(images) == 2 + 1 + 3
    assert all(a["src"].startswith("data:image/png;base64,iVBOR") for a in images)
    settings = json.dumps(exp.settings, indent=2, default=str)
    assert '"num_samples": 64' in settings and "&quot;num_samples&quot;: 64" in page
    assert re.search(r"\d+ audio clips embedded as 16-bit PCM FLAC at 22050 Hz \(\d+\.\d MB", text)


def test_names_and_metadata_are_escaped(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;vox" in page
    assert "a &quot;quoted&quot; &lt;id&gt;" in page
    assert NASTY in " ".join(parse(page).text)  # and reads back as the original name


def test_page_requests_nothing_from_the_network(page):
    tags = parse(page)
    ids = {a["id"] for t, a in tags.tags if "id" in a}
    for tag, key, url in tags.urls:
        assert url.startswith("data:") or (url.startswith("#") and url[1:] in ids), (tag, key, url[:60])
    assert not re.search(r"https?://", page)
    csp = [a for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]
    assert not [t for t, _ in tags.tags if t in ("script", "link", "iframe", "object", "embed")]


def test_sixteen_bit_embedding_size_and_attenuation():
    y = np.zeros((2, 8000))
    data, gain = wav_bytes(y, 8000)
    assert len(data) == 44 + 2 * 2 * 8000 and gain == 0.0  # header + channels x samples x 2 bytes
    loud = np.full((1, 100), 2.0)
    data, gain = wav_bytes(loud, 8000)
    back, _ = sf.read(io.BytesIO(data))
    assert gain == pytest.approx(20 * np.log10(0.999 / 2.0)) and np.max(np.abs(back)) <= 1.0
    with pytest.raises(ParameterError, match="NaN"):
        wav_bytes(np.array([np.nan, 0.0]), 8000)


def test_embed_sample_rate_and_target_choice(exp):
    small = explanation_html(exp, top_k=1, targets=["loudness"], embed_sample_rate=8000)
    audios = players(small)
    assert len(audios) == 1 + 2 + 2 and all(decode(a)[1] == 8000 for a in audios)
    assert "Target: loudness" in small and "Target: valence" not in small
    with pytest.raises(ParameterError, match="no attribution"):
        explanation_html(exp, targets=["tempo"])
    with pytest.raises(ParameterError, match="top_k"):
        explanation_html(exp, top_k=0)
    with pytest.raises(ParameterError, match="embed_sample_rate"):
        explanation_html(exp, embed_sample_rate=10)


def test_identical_clips_are_embedded_once():
    """With one segment a top-k component is a whole stem: its player links to the stem's instead."""
    exp = explanation(segments=1)
    html = explanation_html(exp, top_k=1)
    tags = parse(html)
    audios = [a for t, a in tags.tags if t == "audio"]
    assert len(audios) == 1 + 2  # mix and two stems; each target's top-1 and its "sum" are one of the stems
    assert len({a["src"] for a in audios}) == len(audios)
    ids = {a["id"] for t, a in tags.tags if t == "div" and "id" in a}
    links = [a["href"] for t, a in tags.tags if t == "a"]
    assert len(links) == 2 * 2 and all(u.startswith("#clip-") and u[1:] in ids for u in links)
    assert "3 audio clips embedded" in html


def test_explain_cli_html(tmp_path, capsys):
    from report_helpers import stems

    folder = tmp_path / "stems"
    folder.mkdir()
    parts = stems()
    for name, y in parts.items():
        sf.write(folder / f"{'noise' if name != 'tone' else name}.wav", y, 22050, subtype="FLOAT")
    sf.write(tmp_path / "song.wav", np.sum(list(parts.values()), axis=0), 22050, subtype="FLOAT")
    out = tmp_path / "out"
    assert main(["explain", str(tmp_path / "song.wav"), "--model", MODEL, "--stems", str(folder),
                 "--segments", "2", "--num-samples", "32", "--out", str(out), "--no-progress", "--html"]) == 0
    html = (out / "report.html").read_text()
    assert "Explanation of song.wav" in html and len(players(html)) == 1 + 2 + 2 * 4


# -- harness summaries ----------------------------------------------------------------------------------

@pytest.fixture
def run_dir(tmp_path):
    return evaluation_run(tmp_path)


def test_run_report_links_recomputed_pages_of_the_worst_tracks(run_dir):
    rep = write_run_report(run_dir, tracks=1, top_k=1)
    rows = pd.read_csv(run_dir / "results.csv", dtype={"track_id": str})
    err = rows[rows.metric == "error"].assign(value=lambda f: f.value.abs()).groupby("track_id").value.mean()
    worst = err.idxmax()
    assert rep.path == run_dir / "report.html" and not rep.failures
    assert list(rep.track_pages) == [f"analytic_model:build/{worst}"]
    page_path = rep.track_pages[f"analytic_model:build/{worst}"]
    assert page_path == run_dir / "report_files" / "analytic_model_build" / f"{worst}.html"
    summary = rep.path.read_text()
    tags = parse(summary)
    links = [a["href"] for t, a in tags.tags if t == "a"]
    assert f"report_files/analytic_model_build/{worst}.html" in links
    assert all(u.startswith("data:") for t, k, u in tags.urls if k == "src")
    figures = sorted(p.stem for p in (run_dir / "figures").glob("*.png"))
    assert len([t for t, _ in tags.tags if t == "img"]) == len(figures) > 0
    assert "surrogate_\u200br2" in summary and "Tracks: analytic_model:build" in summary
    # the track page is the run's own explanation: the suite's first seed, segments and samples
    track = page_path.read_text()
    assert "&quot;seed&quot;: 0" in track and "&quot;segments&quot;: 2" in track
    assert f"synthetic:{worst}" in track
    # the page's per-stem weights are the ones the harness recorded for that track (seed 0)
    w = rows[(rows.metric == "weight") & (rows.track_id == worst) & (rows.seed == 0)
             & (rows.target == "valence")]
    per_stem = w.groupby(w.component.str.split("@").str[0]).value.sum()
    assert len(per_stem) == 5
    for value in per_stem:
        assert f'<td class="num">{value:.4g}</td>' in track


def test_run_report_reuses_existing_pages_and_custom_out(run_dir, tmp_path):
    first = write_run_report(run_dir, tracks=1, top_k=1)
    page = next(iter(first.track_pages.values()))
    stamp = page.stat().st_mtime_ns
    assert first.computed == [str(page)] and first.reused == []
    again = write_run_report(run_dir, tracks=0)
    assert again.reused == [str(page)] and again.computed == [] and page.stat().st_mtime_ns == stamp
    assert next(iter(again.track_pages.values())) == page
    out = tmp_path / "else where" / "my report #1.html"  # characters that must be quoted in a link
    moved = write_run_report(run_dir, out=out, tracks=1, top_k=1)
    assert moved.path == out and (out.parent / "my report #1_files" / "analytic_model_build").is_dir()
    from urllib.parse import unquote

    hrefs = [a["href"] for t, a in parse(out.read_text()).tags if t == "a"]
    assert hrefs and all(" " not in u and "#" not in u for u in hrefs)
    assert all((out.parent / unquote(u)).is_file() for u in hrefs)
    with pytest.raises(ParameterError, match=".html"):
        write_run_report(run_dir, out=tmp_path / "x.txt")


def test_benchmark_layout_is_recognised(run_dir, tmp_path):
    bench = tmp_path / "bench" / "synthetic-v1"
    (bench / "runs").mkdir(parents=True)
    import shutil

    shutil.copytree(run_dir, bench / "runs" / "analytic_model:build")
    shutil.copy(run_dir / "results.csv", bench / "results.csv")
    pd.DataFrame([{"variant": "biased", "hit_rate": 1.0}]).to_csv(bench / "bias.csv", index=False)
    (bench / "manifest.json").write_text(json.dumps({"benchmark_version": "synthetic-v1", "preset": "quick",
                                                     "models": {"analytic_model:build": "clean"}}))
    root, kind, _, runs = find_runs(tmp_path / "bench")  # the --out folder resolves to its version folder
    assert (root, kind, list(runs)) == (bench, "benchmark", ["analytic_model:build"])
    rep = write_run_report(tmp_path / "bench", tracks=1, top_k=1)
    html = rep.path.read_text()
    assert rep.path == bench / "report.html" and len(rep.track_pages) == 1
    assert "Planted-bias detection" in html and "Benchmark synthetic-v1 (quick)" in html


def test_report_cli_and_failed_track_pages(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "--tracks", "1", "--top-k", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["dataset"]["data_home"] = str(tmp_path / "moved_away")
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    code = main(["report", str(run_dir), "--tracks", "2", "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 1 and "2 track page(s) failed" in err and "data_home" in err and "Traceback" not in err
    html = (tmp_path / "r.html").read_text()
    assert "could not be made" in html  # the summary still lists the tracks and the reason
    assert main(["report", str(tmp_path)]) == 1
