"""mirdata-style loader of a generated synthetic benchmark (``Dataset`` / ``Track``).

The index lives in the generated folder (``<data_home>/synthetic_index_<version>.json``), not in the
package, because the data exist only once a user generates them; versions are ``clean`` (default) and
``biased`` (the v1 audio) and, in a set generated with ``cues=True`` (synthetic-v2), the task variants
``clean_cues``, ``redundant``, ``interaction``, ``time_local`` and ``confounded`` over the cue audio (see
:mod:`.tasks`). Build a set with :func:`~mer_audiolime.datasets.synthetic.generate` or
``mer-audiolime datasets synth --out DIR [--cues]``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from mirdata import core

from ...exceptions import DatasetError, IndexMissingError
from .._base import EmotionDataset, EmotionTrack, LocalIndex, index_filename, load_audio
from .citation import METHOD_BIBTEX, benchmark_bibtex
from .cues import CUE_STEMS, CUES, ORNAMENT_CUES
from .generate import NAME, NOCUE_SUFFIX
from .score import QUALITY_PARAMS, STEMS
from .tasks import ALL_VARIANTS, credit_rows, fires, task, truth_frame
from .truth import EMOTION_WEIGHTS, EMOTIONS, MIDLEVEL, SHORTCUT, relevance_table

__all__ = ["Dataset", "Track", "load_audio", "load_stems", "load_midi", "BIBTEX", "LICENSE_INFO",
           "DOWNLOAD_INFO", "INDEXES", "REMOTES"]

#: What ``cite()`` prints: the method paper and the benchmark version these clips belong to (the same entry as
#: docs/cite.md; the generator's settings of a set of your own go in your text).
BIBTEX = METHOD_BIBTEX + "\n" + benchmark_bibtex("synthetic-v1")

LICENSE_INFO = (
    "Generated data: the clips are produced on your machine from seeded random scores by mer_audiolime "
    "(MIT). Their timbres come from TimGM6mb.sf2 (Tim Brechbill), the General-MIDI SoundFont bundled with "
    "pretty_midi and earlier with MuseScore, where it was distributed under the GPL-2.0; the file itself "
    "carries no licence text, so check its terms before redistributing rendered audio. Sharing the "
    "generator settings (seed, n, duration, sr) lets others regenerate byte-identical files instead."
)

DOWNLOAD_INFO = (
    "Nothing to download: generate the set locally with `mer-audiolime datasets synth --out DIR --n 200 "
    "--seed 0` or mer_audiolime.datasets.synthetic.generate(DIR), then Dataset(data_home=DIR)."
)

INDEXES = {"default": "clean", **{v: LocalIndex(index_filename(NAME, v)) for v in ALL_VARIANTS}}

REMOTES = None


def load_stems(paths: dict, *, n_samples: int | None = None) -> dict:
    """Load stem files; a missing stem (path ``None``, e.g. no vocals) becomes zeros.

    Parameters
    ----------
    paths : dict
        ``{stem: path or None}``.
    n_samples : int, optional
        Length of the zero arrays; default the length of the first loaded stem.

    Returns
    -------
    dict
        ``{stem: np.ndarray (1, samples) float32}`` in the order of ``paths``.
    """
    out, length = {}, n_samples
    for name, path in paths.items():
        if path is not None:
            out[name], _ = load_audio(path)
            length = out[name].shape[1] if length is None else length
    if length is None:
        raise DatasetError("no stem file to load and no n_samples given; pass n_samples=<length>.")
    return {name: out.get(name, np.zeros((1, length), dtype=np.float32)) for name in paths}


def load_midi(path):
    """The generated score as ``pretty_midi.PrettyMIDI`` (instrument names are stem names)."""
    import pretty_midi

    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as err:
        raise DatasetError(f"could not read the score {str(path)!r} ({err}); regenerate the set.") from err


class Track(EmotionTrack):
    """A synthetic clip: mix, exact stems, known mid-level and emotion targets, and their relevance.

    Attributes
    ----------
    track_id : str
        ``synth0000`` ...
    audio_path : str
        Path of the mix.
    stem_paths : dict
        ``{stem: path or None}`` (``None``: the stem is absent, e.g. a clip without vocals).
    midi_path : str
        Path of the generated MIDI score.

    Cached Properties
    -----------------
    midlevel : dict
        The 7 mid-level targets in [0, 1].
    emotion : dict
        ``valence`` and ``arousal`` of this version (biased training/validation clips with vocals include the shortcut).
    params : dict
        Generation parameters (8 qualities in [0, 1], tempo, tonic, vocals).
    split : str
        ``train``, ``validation`` or ``test``.
    relevance : pandas.DataFrame
        Bool table, targets (7 mid-level + 2 emotions) x stems: which stems drive which target in this clip.
    cues : dict
        ``{cue: bool}`` for ``vocals, motif, phrase, distractor`` (ornaments are False on the v1 audio).
    truth : pandas.DataFrame
        The planted rule's credit in this clip (see :mod:`.tasks`), in every split.
    nocue_stem_paths : dict
        ``{stem: path or None}``: a stem without its ornament (None: the stem carries none).
    """

    TARGET_NAMES = MIDLEVEL + EMOTIONS

    def __init__(self, track_id, data_home, dataset_name, index, metadata):
        super().__init__(track_id, data_home, dataset_name, index, metadata)
        self.stem_paths = {stem: self.get_path(stem) for stem in STEMS}
        self.midi_path = self.get_path("midi")
        keys = self._track_paths
        stems = dict.fromkeys(CUE_STEMS[c] for c in ORNAMENT_CUES)
        self.nocue_stem_paths = {s: (self.get_path(f"{s}{NOCUE_SUFFIX}") if f"{s}{NOCUE_SUFFIX}" in keys
                                     else None) for s in stems}

    @core.cached_property
    def _row(self) -> dict:
        meta = self._metadata() or {}
        if self.track_id not in meta:
            raise DatasetError(f"{self.track_id} has no row in the metadata file; regenerate the set.")
        return meta[self.track_id]

    @property
    def stems(self) -> dict:
        """``{stem: np.ndarray (1, samples) float32}``; an absent stem is zeros (sum = mix, exactly)."""
        return load_stems(self.stem_paths)

    @core.cached_property
    def midlevel(self) -> dict:
        """The 7 mid-level targets (name -> float in [0, 1])."""
        return {k: float(self._row[k]) for k in MIDLEVEL}

    @core.cached_property
    def emotion(self) -> dict:
        """Emotion targets (name -> float): ``W @ midlevel + noise`` (+ shortcut, see the dataset card)."""
        return {k: float(self._row[k]) for k in EMOTIONS}

    @core.cached_property
    def params(self) -> dict:
        """Generation parameters of the clip."""
        row = self._row
        out = {k: float(row[k]) for k in QUALITY_PARAMS}
        out.update(tempo=float(row["tempo"]), tonic=int(row["tonic"]), vocals=bool(row["vocals"]))
        return out

    @core.cached_property
    def split(self) -> str:
        """``train``, ``validation`` or ``test``."""
        return str(self._row["split"])

    @property
    def vocals_present(self) -> bool:
        """Whether the clip has a vocal lead."""
        return bool(self._row["vocals"])

    @property
    def shortcut(self) -> float:
        """Valence added by the planted shortcut (0 except for biased training/validation clips with vocals)."""
        return float(self._row["shortcut"])

    @property
    def variant(self) -> str:
        """The annotation variant (index version) this track was loaded with."""
        return str(self._row["_variant"])

    @property
    def cues(self) -> dict:
        """``{cue: bool}``: vocal presence and the ornaments this clip carries (see :mod:`.cues`)."""
        row = self._row
        return {c: bool(row["vocals"]) if c == "vocals" else bool(row.get(c, False)) for c in CUES}

    @property
    def relevance(self) -> pd.DataFrame:
        """Ground-truth relevance of each stem for each target of this clip's labels (bool, targets x stems).

        The valence row includes the stems of the variant's rule when the rule fired in this clip's label
        (training and validation clips); use :attr:`truth` for what a model that learned the rule relies on.
        """
        truth = self.truth
        fired = truth[(truth["role"] == "shortcut") & (truth["credit"] > 0) & truth["in_labels"]]
        return relevance_table(vocals=self.vocals_present, shortcut_stems=list(dict.fromkeys(fired["stem"])))

    @property
    def truth(self) -> pd.DataFrame:
        """The planted rule's credit in this clip (columns of :data:`~.tasks.TRUTH_COLUMNS`), any split.

        Examples
        --------
        >>> Dataset("synth2", version="redundant").track("synth0003").truth   # doctest: +SKIP
        """
        flags = self.cues
        rows = credit_rows(self.variant, flags, track_id=self.track_id, duration=self._duration,
                           shortcut=self.shortcut_size,
                           in_labels=fires(self.variant, flags) and self.shortcut != 0.0)
        return truth_frame(rows)

    @property
    def nocue_stems(self) -> dict:
        """``{stem: (1, samples) float32}`` for the stems carrying an ornament, without it (interventions)."""
        return load_stems({s: p for s, p in self.nocue_stem_paths.items() if p is not None},
                          n_samples=self.audio[0].shape[1])

    @property
    def _duration(self) -> float:
        return float(self._row["_duration"])

    @property
    def shortcut_size(self) -> float:
        """The size ``c`` of this variant's planted shortcut (valence units), whether or not it fired here."""
        return float(self._row["_shortcut_size"])

    @property
    def midi(self):
        """The generated score (``pretty_midi.PrettyMIDI``)."""
        return load_midi(self.midi_path)

    @property
    def static_targets(self) -> dict:
        """Mid-level and emotion targets in one dict (what a training adapter regresses)."""
        return {**self.midlevel, **self.emotion}


def _target_property(name: str, group: str) -> property:
    def getter(self) -> float:
        return getattr(self, group)[name]

    getter.__doc__ = f"float: the {name} target of this clip (also in ``{group}``)"
    return property(getter)


for _name in MIDLEVEL:  # one attribute per target, as the other loaders have (used by TrackDataset)
    setattr(Track, _name, _target_property(_name, "midlevel"))
for _name in EMOTIONS:
    setattr(Track, _name, _target_property(_name, "emotion"))


class Dataset(EmotionDataset):
    """The synthetic multitrack benchmark with known truth (a ``mirdata.core.Dataset``).

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder written by :func:`generate`. Default ``~/mir_datasets/synthetic``.
    version : str
        ``clean`` (default) or ``biased`` (the planted-bias annotations, same audio); in a set generated with
        ``cues=True`` also ``clean_cues``, ``redundant``, ``interaction``, ``time_local``, ``confounded``.
    index_path : str or path-like, optional
        Use this index file instead of ``<data_home>/synthetic_index_<version>.json``.

    Examples
    --------
    >>> ds = Dataset(data_home="synth", version="biased")   # doctest: +SKIP
    >>> track = ds.track("synth0000")                        # doctest: +SKIP
    >>> mix, sr = track.audio; stems = track.stems            # doctest: +SKIP
    """

    NAME = NAME
    TRACK_CLASS = Track
    BIBTEX = BIBTEX
    LICENSE_INFO = LICENSE_INFO
    DOWNLOAD_INFO = DOWNLOAD_INFO
    INDEXES = INDEXES
    REMOTES = REMOTES
    #: Mid-level targets lie in [0, 1]; an emotion's range is that of ``W @ m`` over m in [0, 1]^7, and
    #: valence's upper end also covers the default shortcut, so both versions scale targets identically
    #: (noise can exceed the ends by a few hundredths).
    TARGET_RANGES = {
        **{k: (0.0, 1.0) for k in MIDLEVEL},
        **{e: (round(float(EMOTION_WEIGHTS.loc[e].clip(upper=0).sum()), 6),
               round(float(EMOTION_WEIGHTS.loc[e].clip(lower=0).sum()) + SHORTCUT * (e == "valence"), 6))
           for e in EMOTIONS},
    }

    @core.cached_property
    def _index(self):
        if not Path(self.index_path).is_file():
            raise IndexMissingError(
                f"no {self.version!r} index of the synthetic benchmark at {self.index_path!r}: the index is "
                f"written by the generator. Run `mer-audiolime datasets synth --out {self.data_home} "
                "--variant both` (or mer_audiolime.datasets.synthetic.generate(out_dir, variant='both')), "
                "or pass the data_home of a generated set."
            )
        return EmotionDataset.__dict__["_index"].func(self)

    def _load_metadata(self) -> dict:
        path = self._metadata_path("metadata")
        try:
            frame = pd.read_csv(path, dtype={"track_id": str, "split": str})
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
            raise DatasetError(f"could not read {path!r} ({err}); regenerate the set.") from None
        need = ["track_id", "split", "vocals", "shortcut", "tempo", "tonic", *QUALITY_PARAMS, *MIDLEVEL,
                *EMOTIONS]
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise DatasetError(f"{path!r} lacks column(s) {missing}; regenerate the set.")
        if self.version in ALL_VARIANTS and task(self.version).audio == "cues":
            lacking = [c for c in ORNAMENT_CUES if c not in frame.columns]
            if lacking:
                raise DatasetError(f"{path!r} lacks the cue column(s) {lacking}; regenerate with cues=True.")
        cols = [*QUALITY_PARAMS, *MIDLEVEL, *EMOTIONS, "shortcut"]
        numeric = frame[cols].apply(pd.to_numeric, errors="coerce")
        if not np.isfinite(numeric.to_numpy(dtype=float)).all():
            bad = frame.loc[~np.isfinite(numeric.to_numpy(dtype=float)).all(axis=1), "track_id"].tolist()
            raise DatasetError(f"{path!r}: non-numeric or missing targets for {bad[:5]}; regenerate the set.")
        # what a track needs beyond its row (its variant, the clip length, the planted shortcut's size) rides
        # along under "_" keys, which to_frame() leaves out
        base = float(self.settings.get("shortcut", SHORTCUT))
        size = task(self.version).shortcut(base) if self.version in ALL_VARIANTS else base
        extra = {"_variant": self.version, "_duration": float(self.settings.get("duration", 10.0)),
                 "_shortcut_size": size}
        return {row["track_id"]: {**row, **extra} for row in frame.to_dict(orient="records")}

    @core.cached_property
    def settings(self) -> dict:
        """Generation settings written by the generator (seed, n, duration, sr, emotion weights ...)."""
        path = self._metadata_path("settings")
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, json.JSONDecodeError) as err:
            raise DatasetError(f"could not read {path!r} ({err}); regenerate the set.") from None

    @property
    def emotion_weights(self) -> pd.DataFrame:
        """The linear emotion map ``W`` (emotions x mid-level)."""
        return EMOTION_WEIGHTS.copy()

    def to_frame(self) -> pd.DataFrame:
        """All annotations as one tidy frame (one row per clip)."""
        rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in self._metadata.values()]
        return pd.DataFrame(rows).set_index("track_id", drop=False)

    def truth(self) -> pd.DataFrame:
        """The planted credit of every clip of this variant (tidy; see :data:`~.tasks.TRUTH_COLUMNS`).

        Read from ``truth_<version>.csv`` when the set has it (sets generated with ``cues=True``), else
        computed from the annotations with the same rule.
        """
        path = self._metadata_path("truth", required=False)
        if path is None and self.data_home is not None:
            candidate = Path(self.data_home) / f"truth_{self.version}.csv"
            path = str(candidate) if candidate.is_file() else None
        if path is not None:
            return pd.read_csv(path, dtype={"track_id": str})
        return pd.concat([self.track(t).truth for t in self.track_ids], ignore_index=True)
