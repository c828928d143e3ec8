"""Separation once per track: the first explanation of a track separates it, every later one reads the cache.

Prints one JSON object. A 10-s synthetic clip is written to a WAV file; open-unmix ``umxhq`` with random
weights (``pretrained=False``: real compute, no download) separates it through a
:class:`~mer_audiolime.explain.separation.CachedSeparator` in a fresh cache folder. Each run is a **new Python
process** (nothing is shared but the cache folder) that calls ``explain`` with a cheap model (N = 16), and
reports the seconds its separator spent finding its identity and in ``separate``, and the cache's hits and
misses:

1. ``first_run``: ``explain(<wav path>)`` — a miss: open-unmix is built and separates the clip;
2. ``second_run``: the same call again — a hit;
3. ``array_run``: ``explain(load_audio(<wav path>))``, as the evaluation harness and the reports call it (they
   decode tracks with the same loader at the native rate) — a hit on the same entry.

``second_run_separation_s`` is the acceptance number (~0 s: a hash of the audio and one ``.npz`` read).
Usage: ``python benchmarks/bench_separation.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, sys, time
import numpy as np
from mer_audiolime.explain import explain
from mer_audiolime.audio import load_audio
from mer_audiolime.explain.separation import CachedSeparator, OpenUnmixSeparator
from mer_audiolime.models import CallablePredictor

wav, cache_dir, as_array = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
inner = OpenUnmixSeparator("umxhq", pretrained=False, show_progress=False)
sep = CachedSeparator(inner, cache_dir=cache_dir)
spent = [0.0]
plain_separate = sep.separate


def timed_separate(audio, *, sr):
    t0 = time.perf_counter()
    out = plain_separate(audio, sr=sr)
    spent[0] += time.perf_counter() - t0
    return out


sep.separate = timed_separate
t0 = time.perf_counter()
sep.identity  # the cache key needs it: counted as separation time (a hit must not build the model)
spent[0] += time.perf_counter() - t0
model = CallablePredictor(lambda x: x.std(axis=(1, 2))[:, None], sample_rate=22050, output_names=["loud"])
audio = load_audio(wav)[0] if as_array else wav
kwargs = {"sr": load_audio(wav)[1]} if as_array else {}
t0 = time.perf_counter()
exp = explain(audio, model=model, separator=sep, num_samples=16, seed=0, show_progress=False, **kwargs)
print(json.dumps({"separation_s": round(spent[0], 4), "explain_s": round(time.perf_counter() - t0, 3),
                  "hits": sep.hits, "misses": sep.misses, "model_built": inner._separator is not None,
                  "components_s": round(exp.timings["components"], 4)}))
"""


def main() -> int:
    import soundfile as sf

    from mer_audiolime.datasets.synthetic import Dataset, generate

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        home = generate(tmp / "synth", n=4, seed=0, duration=10.0, n_jobs=1, progress=False)
        track = Dataset(data_home=home, version="clean").track("synth0000")
        audio, sr = track.audio
        wav = tmp / "clip.wav"
        sf.write(wav, np.asarray(audio).T if np.ndim(audio) == 2 else audio, int(sr))
        cache = tmp / "cache"
        env = dict(os.environ)
        runs = {}
        for name, as_array in (("first_run", "0"), ("second_run", "0"), ("array_run", "1")):
            out = subprocess.run([sys.executable, "-c", CHILD, str(wav), str(cache), as_array], env=env,
                                 capture_output=True, text=True, check=True)
            runs[name] = json.loads(out.stdout.strip().splitlines()[-1])
    result = {"benchmark": "bench_separation", "clip_seconds": 10.0, "separator": "umxhq, pretrained=False",
              "runs": runs, "second_run_separation_s": runs["second_run"]["separation_s"],
              "first_run_separation_s": runs["first_run"]["separation_s"]}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
