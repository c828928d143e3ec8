"""Separation once per track: a cache hit needs neither the model nor its identity hash, and the paths
that explain a track (a file, a decoded array as harness and reports pass it, repeated calls) share one
entry."""

import json

import numpy as np
import soundfile as sf

from mer_audiolime.explain import explain
from mer_audiolime.audio import audio_fingerprint, load_audio
from mer_audiolime.explain import separation
from mer_audiolime.explain.separation import (CachedSeparator, OpenUnmixSeparator, OracleSeparator,
                                              get_separator)

from explain_models import SR, make_stems, midlevel_predictor


class SlowIdentitySeparator:
    """A separator whose identity is expensive (as open-unmix's: build + hash), whose descriptor is cheap."""

    builds = 0
    separations = 0

    def __init__(self, stems, sr, tag="v1"):
        self.oracle = OracleSeparator(stems, sr=sr)
        self.sample_rate = sr
        self.tag = tag

    def descriptor(self):
        return json.dumps({"kind": "slow", "tag": self.tag})

    @property
    def identity(self):
        type(self).builds += 1
        return f"slow:{self.tag}:{self.oracle.identity}"

    def separate(self, audio, *, sr):
        type(self).separations += 1
        return self.oracle.separate(audio, sr=sr)


def test_hit_in_a_new_instance_never_builds(tmp_path, rng):
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    mix = stems["a"] + stems["b"]
    SlowIdentitySeparator.builds = SlowIdentitySeparator.separations = 0
    first = CachedSeparator(SlowIdentitySeparator(stems, SR), cache_dir=tmp_path)
    out1 = first.separate(mix, sr=SR)
    assert (SlowIdentitySeparator.builds, SlowIdentitySeparator.separations) == (1, 1)
    # a later process: new objects, same cache folder -> identity read from identities.json, stems from disk
    second = CachedSeparator(SlowIdentitySeparator(stems, SR), cache_dir=tmp_path)
    out2 = second.separate(mix, sr=SR)
    assert (SlowIdentitySeparator.builds, SlowIdentitySeparator.separations) == (1, 1)
    assert second.hits == 1 and second.identity == first.identity
    for name in out1:
        np.testing.assert_array_equal(out1[name], out2[name])
    # other weights (another descriptor) are another separator: separated again, under their own identity
    third = CachedSeparator(SlowIdentitySeparator(stems, SR, tag="v2"), cache_dir=tmp_path)
    third.separate(mix, sr=SR)
    assert SlowIdentitySeparator.separations == 2 and third.identity != first.identity


def test_file_and_decoded_array_share_one_entry(tmp_path, rng):
    # the CLI explains a path; the harness and the reports explain track.audio, an array decoded by
    # load_audio at the native rate: both must hit the same entry
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    mix = stems["a"] + stems["b"]
    wav = tmp_path / "clip.wav"
    sf.write(wav, mix.T, SR, subtype="FLOAT")
    audio, sr = load_audio(wav)
    SlowIdentitySeparator.builds = SlowIdentitySeparator.separations = 0
    model = midlevel_predictor(sr=SR)
    cache = tmp_path / "cache"
    for source, kwargs in ((str(wav), {}), (audio, {"sr": sr}), (np.asarray(audio), {"sr": int(sr)})):
        explain(source, model=model, separator=SlowIdentitySeparator(stems, SR), cache_dir=cache,
                num_samples=8, seed=0, show_progress=False, **kwargs)
    assert SlowIdentitySeparator.separations == 1
    assert SlowIdentitySeparator.builds == 1


def test_named_separators_are_built_once_per_process(tmp_path, monkeypatch):
    made = []

    class FakeUnmix:
        def __init__(self, model, **kwargs):
            made.append((model, kwargs))
            self.identity, self.sample_rate = f"fake:{model}", 44100

    monkeypatch.setattr(separation, "OpenUnmixSeparator", FakeUnmix)
    monkeypatch.setattr(separation, "_MEMO", {})
    a = get_separator("umxhq", cache_dir=tmp_path, show_progress=False)
    b = get_separator("umxhq", cache_dir=tmp_path, show_progress=False)
    c = get_separator("umxl", cache_dir=tmp_path, show_progress=False)
    assert a is b and a is not c and len(made) == 2
    assert isinstance(a, CachedSeparator) and a.cache_dir == tmp_path
    # the default folder follows $MER_AUDIOLIME_CACHE at call time
    monkeypatch.setenv("MER_AUDIOLIME_CACHE", str(tmp_path / "elsewhere"))
    d = get_separator("umxhq", show_progress=False)
    assert d.cache_dir == tmp_path / "elsewhere" / "separation"


def test_openunmix_descriptor_needs_no_build(tmp_path):
    umx = OpenUnmixSeparator("umxhq", pretrained=False, seed=3)
    desc = json.loads(umx.descriptor())
    assert umx._separator is None  # nothing was built
    assert desc["model"] == "umxhq" and desc["seed"] == 3 and desc["pretrained"] is False
    assert OpenUnmixSeparator("umxhq", pretrained=False, seed=4).descriptor() != umx.descriptor()


def test_fingerprint_is_of_the_samples_as_separated(rng):
    stems = make_stems(rng, seconds=0.5, names=("a",))
    x = stems["a"]
    assert audio_fingerprint(x, SR) == audio_fingerprint(x.copy(), SR)
    assert audio_fingerprint(x, SR) != audio_fingerprint(x, SR * 2)


def test_shipped_separator_descriptor_is_its_card():
    from mer_audiolime.explain.separators import list_separators, separator_card

    for name in list_separators():
        umx = OpenUnmixSeparator(name)
        desc = json.loads(umx.descriptor())
        assert umx._separator is None
        assert desc["model"] == name and desc["card"] == separator_card(name)
