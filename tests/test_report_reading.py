"""An explanation page reads right: the largest influences first whatever their sign, bands in Hz, players
that hold exactly the component where it sounds, outputs on the dataset's scale, a size budget, excerpts."""

import re

import numpy as np
import pytest
import soundfile as sf

from mer_audiolime.exceptions import ParameterError
from mer_audiolime.explain import explain
from mer_audiolime.models import CallablePredictor
from mer_audiolime.report import explanation_html
from mer_audiolime.report._reading import ranked, signed_lists, span, stem_label

from test_report import decode, players

SR = 8000
#: Planted effects: the model adds these multiples of each block's mean level, so the most negative one is
#: the largest influence (exactly the case a signed top-k got wrong).
EFFECTS = {"bass": -5.0, "piano": 1.0, "drums": 2.0}


def blocks(seconds=3.0):
    """Three stems, each a constant level on its own third of the clip: disjoint, so f(c_k) = EFFECTS[k]."""
    n = int(seconds * SR)
    out = {}
    for j, name in enumerate(EFFECTS):
        y = np.zeros(n, np.float32)
        y[j * n // 3:(j + 1) * n // 3] = 0.5
        out[name] = y
    return out


def planted_model(stems):
    """f(x) = sum_k EFFECTS[k] * <x, c_k> / <c_k, c_k>: linear, so LIME's weights keep every sign and
    order."""
    basis = np.stack([stems[k] / np.dot(stems[k], stems[k]) for k in EFFECTS])
    gains = np.array(list(EFFECTS.values()))

    def fn(batch):
        return (batch[:, 0, :].astype(np.float64) @ basis.T.astype(np.float64)) @ gains[:, None]

    return CallablePredictor(fn, sample_rate=SR, output_names=["valence"], name="planted")


@pytest.fixture(scope="module")
def planted():
    stems = blocks()
    return explain(np.sum(list(stems.values()), axis=0), sr=SR, model=planted_model(stems), stems=stems,
                   segments=1, num_samples=64, seed=0, show_progress=False)


def test_ranking_helpers():
    w = [0.2, -1.0, 0.5, 0.0, -0.1]
    assert ranked(w, 3).tolist() == [1, 2, 0]
    assert ranked(w, 3, absolute_feature_sort=False).tolist() == [2, 0, 3]
    assert [a.tolist() for a in signed_lists(w, 5)] == [[2, 0], [1, 4]]


def test_top_components_by_size_with_sign(planted):
    att = planted.attributions["valence"]
    weights = dict(zip(att.component_names, att.weights))
    assert weights["bass"] < 0 < weights["piano"] < weights["drums"] < -weights["bass"]  # the planted truth
    html = explanation_html(planted, top_k=2)
    labels = re.findall(r'<div class="label">#(\d) ([^<]+)</div>', html)
    assert labels == [("1", "bass"), ("2", "drums")]  # by |weight|: the negative bass first
    assert "Top 2 components by |weight|, the sign shown" in html
    assert f"{weights['bass']:+.4g}" in html and "lowers" in html and "raises" in html
    pos = html.split("Top positive (raise valence)")[1].split("Top negative")[0]
    neg = html.split("Top negative (lower valence)")[1]
    assert pos.index("drums") < pos.index("piano") and "bass" not in pos
    assert "bass" in neg.split("</table>")[0] and "drums" not in neg.split("</table>")[0]
    signed = explanation_html(planted, top_k=2, absolute_feature_sort=False)  # audioLIME's default order
    assert re.findall(r'<div class="label">#(\d) ([^<]+)</div>', signed) == [("1", "drums"), ("2", "piano")]


@pytest.fixture(scope="module")
def grid():
    rng = np.random.default_rng(0)
    t = np.arange(3 * 22050) / 22050
    y = (0.2 * np.sin(2 * np.pi * 150 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    model = CallablePredictor(lambda b: np.sqrt(np.mean(b[:, 0] ** 2, axis=1))[:, None], sample_rate=22050,
                              output_names=["energy"])
    return explain(y, sr=22050, model=model, separator="tf-grid", segments=3, n_bands=4, num_samples=64,
                   seed=0, show_progress=False)


def test_tf_grid_bands_in_hz_and_players_cropped_to_where_cells_sound(grid):
    comps = grid.components
    edges = np.geomspace(100.0, 22050 / 2, 5)
    assert list(comps.bands) == ["f0", "f1", "f2", "f3"]
    for i, (lo, hi) in enumerate(comps.bands.values()):
        assert lo == (0.0 if i == 0 else pytest.approx(edges[i])) and hi == pytest.approx(edges[i + 1])
    assert stem_label(comps, "f1") == f"f1: {edges[1]:.0f}–{edges[2]:.0f} Hz"
    html = explanation_html(grid, top_k=3)
    for band in comps.bands:
        assert stem_label(comps, band) in html
    att = grid.attributions["energy"]
    order = ranked(att.weights, 3)
    clips = [decode(a) for a in players(html)]
    n_bands = len(comps.stem_names())  # four bands and the residual
    top = clips[1 + n_bands: 1 + n_bands + 3]
    for (y, sr, _), k in zip(top, order):
        a, b = span(comps, [k])
        if comps.segments[k] >= 0:  # a cell: its segment and half an FFT window either side, no more
            seg_a, seg_b = comps.bounds[comps.segments[k]]
            assert a == max(0, seg_a - 1024) and b == min(comps.mix.shape[-1], seg_b + 1024)
            assert b - a < comps.mix.shape[-1]
        outside = np.concatenate([comps.waveforms[k][:, :a], comps.waveforms[k][:, b:]], axis=1)
        assert np.all(outside == 0)  # nothing of the component is cut off
        assert sr == 22050
        np.testing.assert_allclose(y, comps.waveforms[k][:, a:b], atol=1 / 32768)


def _card_model():
    from mer_audiolime.models.checkpoint import ModelCard

    model = CallablePredictor(lambda b: np.full((b.shape[0], 1), 0.5) + b[:, 0, :1] * 0, sample_rate=8000,
                              output_names=["valence"], name="card-model")
    model.card = ModelCard(name="card-model", architecture="cp_resnet", head="a2e",
                           dataset={"name": "deam", "variant": "default"})
    model.target_scaling = {"valence": {"mean": 5.0, "std": 2.0}}
    return model


def test_outputs_on_the_dataset_scale_with_unit_and_training_domain():
    stems = blocks()
    exp = explain(np.sum(list(stems.values()), axis=0), sr=SR, model=_card_model(), stems=stems, segments=1,
                  num_samples=16, seed=0, show_progress=False)
    assert exp.settings["model_info"]["target_scaling"] == {"valence": {"mean": 5.0, "std": 2.0}}
    html = explanation_html(exp)
    assert "prediction on the deam annotation scale" in html
    assert re.search(r">0\.5</td><td class=\"num\">6</td>", html)  # 0.5 z -> 0.5 * 2 + 5 = 6 on DEAM's scale
    assert "z × std + mean" in html and "valence 1 to 9" in html  # DEAM rates valence 1-9
    assert "trained on deam" in html


def test_default_embed_rate_keeps_the_page_within_its_budget(planted, grid):
    full = explanation_html(planted)
    assert "at 8000 Hz" in full and "down-sampled" not in full  # small: the model's rate, exact samples
    with pytest.raises(ParameterError, match="max_page_mb"):
        explanation_html(planted, max_page_mb=0)
    sizes = {r: len(explanation_html(grid, embed_sample_rate=r).encode())
             for r in (22050, 16000, 11025, 8000)}
    assert sizes[22050] > sizes[16000] > sizes[11025] > sizes[8000]
    budget = (sizes[16000] + sizes[11025]) / 2 / 1e6  # only 11025 Hz and lower fit: the highest is chosen
    small = explanation_html(grid, max_page_mb=budget)
    assert "at 11025 Hz" in small and "down-sampled from 22050 Hz to keep the page within" in small
    assert len(small.encode()) <= budget * 1e6
    pinned = explanation_html(planted, embed_sample_rate=8000, max_page_mb=1e-6)  # explicit: used as is
    assert "at 8000 Hz" in pinned


def test_excerpts_decode_only_their_part_and_are_checked_first(tmp_path):
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    path = tmp_path / "song.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    calls = []

    def fn(batch):
        calls.append(batch.shape)
        return batch[:, 0].std(axis=1, keepdims=True)

    model = CallablePredictor(fn, sample_rate=SR, output_names=["level"])
    exp = explain(path, model=model, separator="tf-grid", segments=2, n_bands=2, num_samples=8,
                  offset=1.0, duration=1.5, show_progress=False)
    np.testing.assert_array_equal(exp.components.mix[0], y[SR: SR + SR * 3 // 2])
    assert (exp.settings["offset"], exp.settings["duration"]) == (1.0, 1.5)
    html = explanation_html(exp)
    assert "1.00–2.50 s of the recording" in html  # times are the recording's, not the excerpt's
    calls.clear()
    for kwargs, match in (({"offset": 3.5}, "at or after the end of .* which lasts 3.00 s"),
                          ({"offset": 2.0, "duration": 1.5}, "use a duration of at most 1.00 s"),
                          ({"offset": -1.0}, "offset"), ({"duration": 0}, "duration")):
        with pytest.raises(ParameterError, match=match):
            explain(path, model=model, separator="tf-grid", show_progress=False, **kwargs)
    with pytest.raises(ParameterError, match="lasts 3.00 s"):  # checked before the model spec is even parsed
        explain(path, model="no_such_model", offset=5.0)
    assert calls == []
    # arrays: the same excerpt, and oracle stems cut alike
    stems = {"a": y * 0.5, "b": y * 0.5}
    arr = explain(y, sr=SR, model=model, stems=stems, segments=1, num_samples=8, offset=1.0, duration=1.5,
                  show_progress=False)
    np.testing.assert_array_equal(arr.components.mix[0], y[SR: SR + SR * 3 // 2])
    assert arr.components.waveforms.shape[-1] == SR * 3 // 2


def test_excerpt_on_the_command_line(tmp_path, capsys):
    import json

    from mer_audiolime.cli import main

    from conftest import RESOURCES

    rng = np.random.default_rng(2)
    sf.write(tmp_path / "song.wav", (0.1 * rng.standard_normal(4 * 22050)).astype(np.float32), 22050)
    model = f"{RESOURCES / 'models' / 'analytic_model.py'}:build"
    args = ["explain", str(tmp_path / "song.wav"), "--model", model, "--separator", "tf-grid",
            "--n-bands", "2", "--num-samples", "8", "--no-progress"]
    assert main(args + ["--offset", "1", "--duration", "2", "--out", str(tmp_path / "out")]) == 0
    settings = json.loads((tmp_path / "out" / "explanation.json").read_text())["settings"]
    assert (settings["offset"], settings["duration"]) == (1.0, 2.0)
    assert main(args + ["--offset", "3", "--duration", "2", "--out", str(tmp_path / "bad")]) == 1
    assert "lasts 4.00 s; use a duration of at most 1.00 s" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "explanation.json").exists()
