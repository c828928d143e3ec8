"""The qualities are audible in the stems the relevance table names: a plain audio descriptor of the driving
stem's *rendered audio* moves in the documented direction when only that quality's parameter changes from 0
to 1 (same clip, same random streams). This checks the rendering, not the symbolic truth."""

from __future__ import annotations

import numpy as np
import pytest

from mer_audiolime.datasets.synthetic import score as S
from mer_audiolime.datasets.synthetic import truth as T
from mer_audiolime.datasets.synthetic.render import render_score

librosa = pytest.importorskip("librosa")

SR, SEED, DURATION, CLIPS = 22050, 7, 4.0, range(3)


def _render(clip, stem, **changes):
    params = S.draw_params(SEED, clip, vocals=True).replace(**changes)
    score = S.compose(params, seed=SEED, clip=clip, duration=DURATION)
    return render_score(score, sr=SR, stems=[stem])[stem], score


def _sounding_share(y, score):
    """Share of frames louder than a fifth of the loudest frame (legato lines sound most of the time)."""
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0]
    return float(np.mean(rms > 0.2 * rms.max()))


def _onset_count(y, score):
    return float(len(librosa.onset.onset_detect(y=y, sr=SR, units="time")))


def _pitch_classes_per_frame(y, score):
    chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=512)
    return float(np.mean((chroma > 0.5 * chroma.max(axis=0, keepdims=True)).sum(axis=0)))


def _bar_periodicity(y, score):
    """Correlation of the onset envelope with itself one bar later (a repeated pattern correlates)."""
    env = librosa.onset.onset_strength(y=y, sr=SR, hop_length=256)
    lag = int(round(score.context.bar * SR / 256))
    a, b = env[:-lag] - env.mean(), env[lag:] - env.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def _minor_third_excess(y, score, *, follow_key):
    """Chroma energy at the chord's minor third minus its major third, summed over slots."""
    chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=512)
    fps, ctx, total = SR / 512, score.context, 0.0
    for i in range(ctx.n_slots):
        a, b = int(i * ctx.slot * fps), int(min((i + 1) * ctx.slot, ctx.duration) * fps)
        root = (ctx.tonic + ctx.roots[i] + (ctx.offsets[i] if follow_key else 0)) % 12
        mean = chroma[:, a:b].mean(axis=1)
        total += mean[(root + 3) % 12] - mean[(root + 4) % 12]
    return float(total)


CASES = [
    ("staccato", "vocals", _sounding_share, -1),
    ("density", "drums", _onset_count, 1),
    ("regularity", "drums", _bar_periodicity, 1),
    ("clusters", "piano", _pitch_classes_per_frame, 1),
    ("minor", "piano", lambda y, s: _minor_third_excess(y, s, follow_key=True), 1),
    ("minor", "bass", lambda y, s: _minor_third_excess(y, s, follow_key=False), 1),
]


@pytest.mark.parametrize("param,stem,descriptor,sign", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_the_driving_stem_audibly_carries_the_quality(param, stem, descriptor, sign):
    assert T.RELEVANCE.loc[T.PARAM_TARGET[param], stem]
    for clip in CLIPS:
        low = descriptor(*_render(clip, stem, **{param: 0.0}))
        high = descriptor(*_render(clip, stem, **{param: 1.0}))
        assert sign * (high - low) > 0, f"clip {clip}: {param} 0 -> 1 did not move the {stem} audio"
