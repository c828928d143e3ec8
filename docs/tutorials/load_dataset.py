"""Tutorial 1 — load an emotion dataset through the mirdata-style loaders.

What you learn
--------------
1. which datasets the package supports and what it knows about them without any data
   (:func:`mer_audiolime.datasets.list_datasets`, :func:`~mer_audiolime.datasets.dataset_info`);
2. how to build a dataset's **index** from your own local copy (:func:`~mer_audiolime.datasets.build_index`):
   the project ships no checksums for data it does not hold, so you hash your copy once and mirdata's
   ``validate()`` then tells you whenever a file goes missing or changes;
3. how to load the dataset (:func:`~mer_audiolime.datasets.load`), validate it, and read one track's
   annotations (static ratings, dynamic ratings, metadata) and audio;
4. how to generate and load the **synthetic multitrack benchmark**, whose stems and ground truth are exact
   (:func:`mer_audiolime.datasets.synthetic.generate`).

Run it
------
On your own copy of DEAM (unpacked as described in ``datasets/deam/README.md``)::

    python docs/tutorials/load_dataset.py --data-home ~/data/DEAM

Without ``--data-home`` the script copies the tiny fixture of the test suite, ``tests/resources/deam`` — six
songs laid out exactly like the real download (nested ``DEAM_audio/MEMD_audio/<id>.mp3``, the two static
annotation files whose column names start with a space, the 2 Hz dynamic files, the three ragged metadata
files) — into a temporary folder and works on that, so the tutorial runs anywhere in a checkout. ``--dataset pmemo`` works the
same way with ``tests/resources/pmemo``. Every step prints what it did; the whole script takes a few seconds.

The command-line equivalents of the steps are::

    mer-audiolime datasets list
    mer-audiolime datasets info deam
    mer-audiolime datasets index deam --data-home ~/data/DEAM
    mer-audiolime datasets synth --out synth --n 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from mer_audiolime import datasets
from mer_audiolime.datasets import synthetic

#: Fixtures of the test suite that mirror each dataset's real file layout (present in a source checkout).
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "resources"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="deam", help="registered dataset name (default: deam)")
    parser.add_argument("--data-home", default=None,
                        help="your unpacked copy of the dataset (default: a temporary copy of the fixture)")
    parser.add_argument("--index-out", default=None,
                        help="write the index here instead of into --data-home (for read-only copies)")
    parser.add_argument("--work-dir", default=None, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--n", type=int, default=8, help="clips of the synthetic set (default 8)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per synthetic clip (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic set")
    return parser.parse_args(argv)


def section(title: str) -> None:
    print(f"\n=== {title} ===")


def main(argv=None) -> dict:
    args = parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="mer_tutorial1_"))
    work.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------------------------------------------
    # 1. What is supported. `dataset_info` reads only the loader module: targets and their rating scales,
    #    license, citation, where to download the data and which index file name the loader looks for.
    # ------------------------------------------------------------------------------------------------------
    section("supported datasets")
    print(datasets.list_datasets())
    info = datasets.dataset_info(args.dataset)
    print(f"{args.dataset}: targets {info['targets']}; index file {info['index_file']}; card {info['card']}")

    # ------------------------------------------------------------------------------------------------------
    # 2. Build the index from a local copy. The recipe walks `data_home`, finds the annotation files and the
    #    audio of every annotated track by file name (so the exact folder nesting does not matter), hashes
    #    them, and writes `<data_home>/<name>_index_<version>.json` — where `load` finds it. Tracks whose
    #    audio is missing are listed under "excluded" instead of failing the build.
    # ------------------------------------------------------------------------------------------------------
    if args.data_home is None:
        fixture = FIXTURES / args.dataset
        if not fixture.is_dir():
            raise SystemExit(f"no --data-home given and no fixture at {fixture}; pass your copy with "
                             "--data-home.")
        data_home = work / args.dataset
        shutil.rmtree(data_home, ignore_errors=True)
        shutil.copytree(fixture, data_home)  # never write an index into the repository's fixtures
        print(f"\n(using a copy of the test fixture {fixture} in {data_home})")
    else:
        data_home = Path(args.data_home).expanduser()

    section("build the index")
    index_path = datasets.build_index(args.dataset, data_home, out=args.index_out, progress=False)
    index = json.loads(Path(index_path).read_text(encoding="utf-8"))
    first_id = next(iter(index["tracks"]))  # tracks are stored in id order
    print(f"wrote {index_path}: version {index['version']}, {len(index['tracks'])} tracks, "
          f"{len(index['metadata'])} metadata files")
    print(f"entry of track {first_id!r}: {index['tracks'][first_id]}   (relative path, md5)")

    # ------------------------------------------------------------------------------------------------------
    # 3. Load and validate. `load` is this package's `mirdata.initialize`: it returns a mirdata Dataset whose
    #    tracks are lazy objects. `validate()` md5-checks every file of the index and returns the missing
    #    and the changed ones (both empty for an intact copy); `coverage()` counts the indexed tracks against
    #    the dataset's published size.
    # ------------------------------------------------------------------------------------------------------
    section("load and validate")
    ds = datasets.load(args.dataset, data_home=data_home, index_path=args.index_out)
    missing, changed = ds.validate(verbose=False)
    n_missing = len(missing["tracks"]) + len(missing["metadata"])
    n_changed = len(changed["tracks"]) + len(changed["metadata"])
    print(f"{ds.name}: {len(ds.track_ids)} tracks; missing files: {n_missing}; changed files: {n_changed}")
    # How much of the published dataset this copy holds: an incomplete copy, or a layout the recipe misread,
    # shows here at once (the fixture holds 6 of DEAM's 1802 songs).
    print(ds.coverage_line())

    # ------------------------------------------------------------------------------------------------------
    # 4. One track. Every emotion loader exposes the static targets as attributes and as one dict
    #    (`static_targets`, on the dataset's own rating scale, see `TARGET_RANGES`); dataset-specific
    #    annotations (DEAM's 2 Hz dynamic ratings, genre metadata, ...) are further attributes. Reading an
    #    attribute parses the annotation files on first use. Targets, numeric annotations and descriptive
    #    metadata are parsed separately: a metadata field that cannot be read (the fixture, like the real
    #    metadata_2015.csv, has a row with shifted fields) is None plus one MetadataWarning, never an error.
    # ------------------------------------------------------------------------------------------------------
    section("one track")
    track = ds.track(ds.track_ids[0])
    print(f"track {track.track_id}: static targets {track.static_targets} on scales {ds.TARGET_RANGES}")
    dynamic = getattr(track, "dynamic", None)
    if dynamic is not None:
        print(f"dynamic ratings: {len(dynamic.times)} frames from {dynamic.times[0]} s; "
              f"arousal {np.round(dynamic.arousal, 3).tolist()}")
    for field in ("genre", "artist", "title"):
        if getattr(track, field, None) is not None:
            print(f"{field}: {getattr(track, field)}")

    # Audio is decoded by mer_audiolime.audio (soundfile, or librosa for MP3): channels first, float32.
    audio, sr = track.audio
    print(f"audio: shape {audio.shape} (channels, samples) at {sr:.0f} Hz = {audio.shape[-1] / sr:.2f} s")

    # ------------------------------------------------------------------------------------------------------
    # 5. The synthetic benchmark. Nothing to download: clips are rendered from generated MIDI, each with exact
    #    stems (the mix is their sum), 7 mid-level targets, valence/arousal from a documented linear map and a
    #    relevance table saying which stems drive which target. `variant="both"` writes the clean labels and
    #    the planted-bias labels (training and validation clips with vocals get +0.6 valence) over the same audio. The
    #    generator writes the index itself, so `validate()` works straight away.
    # ------------------------------------------------------------------------------------------------------
    section("synthetic benchmark")
    synth_home = work / "synth"
    synthetic.generate(synth_home, n=args.n, seed=args.seed, duration=args.duration, variant="both",
                       n_jobs=1, progress=False, overwrite=True)
    clean = datasets.load("synthetic", data_home=synth_home, version="clean")
    biased = datasets.load("synthetic", data_home=synth_home, version="biased")
    missing, changed = clean.validate(verbose=False)
    print(f"{len(clean.track_ids)} clips in {synth_home}; missing {len(missing['tracks'])}, "
          f"changed {len(changed['tracks'])}")
    # a training clip with vocals shows the planted shortcut (other clips have identical labels in both)
    shortcut_clips = [t for t in clean.track_ids
                      if clean.track(t).split == "train" and clean.track(t).vocals_present]
    clip = clean.track((shortcut_clips or clean.track_ids)[0])
    stems = clip.stems
    mix, sr = clip.audio
    print(f"{clip.track_id}: split {clip.split}, vocals present: {clip.vocals_present}")
    print(f"stems {list(stems)}; sum of stems == mix: {np.allclose(sum(stems.values()), mix, atol=1e-4)}")
    print("mid-level targets:", {k: round(v, 3) for k, v in clip.midlevel.items()})
    biased_valence = biased.track(clip.track_id).valence
    print("valence clean / biased:", round(clip.valence, 3), "/", round(biased_valence, 3))
    print("relevance (which stems drive which target):")
    print(clip.relevance.astype(int).to_string())
    return {"index_path": Path(index_path), "n_tracks": len(ds.track_ids), "missing": n_missing,
            "changed": n_changed, "synth_home": synth_home, "n_synth": len(clean.track_ids)}


if __name__ == "__main__":
    main()
