"""Cue counterfactuals: training items with one ornament removed, labelled by the task's rule.

An ornament cue (the piano motif, the vocal phrase, the string distractor; :mod:`.cues`) lies **outside the
quality descriptors**: a clip's mid-level targets and clean emotions are computed from its parts without
ornaments. Removing one ornament from a clip (swapping its stem for the stem without it, exactly as the
interventions of :mod:`.interventions` do) therefore changes only what the task's rule reads, and the label
of the new version is known exactly::

    valence' = valence - shortcut + c * rule(cues without the ornament)     (training / validation splits)

with the other targets unchanged (the test split carries no shortcut in its labels, so there only the audio
changes). Served beside the original clips, such versions show a model minimal pairs -- the same clip with
and without the motif, with and without the distractor -- which is what it needs to tell a conjunction of two
cues from their sum and a cue from its correlate. The vocal stem is never removed: it is one of the parts the
descriptors are computed from.

Examples
--------
>>> from mer_audiolime.datasets.torch_data import split_dataset                       # doctest: +SKIP
>>> base = split_dataset("synthetic", data_home=home, split="train", variant="interaction")  # doctest: +SKIP
>>> train_set = CueCounterfactuals(base)                                              # doctest: +SKIP
>>> len(train_set) - len(base)          # one extra item per ornament a clip carries   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ...audio_signal import conform
from ...exceptions import DatasetError, ParameterError
from .cues import ORNAMENT_CUES
from .generate import DEV_SPLITS
from .interventions import versions
from .tasks import fires

__all__ = ["CueCounterfactuals", "counterfactual_label_shift"]

def counterfactual_label_shift(variant: str, cues: dict, removed: str, *, shortcut: float,
                               labelled: bool = True) -> float:
    """Change of the valence label when the ornament ``removed`` is taken out of a clip.

    Parameters
    ----------
    variant : str
        The task (:data:`~.tasks.TASKS`).
    cues : dict
        ``{cue: bool}`` of the clip.
    removed : str
        An ornament cue the clip carries (one of :data:`~.cues.ORNAMENT_CUES`).
    shortcut : float
        The task's ``c`` (valence units).
    labelled : bool
        Whether the clip's split carries the shortcut in its labels (False: the test split; the shift is 0).

    Returns
    -------
    float
        ``c * (rule(after) - rule(before))`` when ``labelled``, else 0.

    Examples
    --------
    >>> flags = {"vocals": True, "motif": True, "phrase": False, "distractor": True}
    >>> counterfactual_label_shift("interaction", flags, "motif", shortcut=1.2)
    -1.2
    >>> counterfactual_label_shift("interaction", flags, "distractor", shortcut=1.2)
    0.0
    """
    if removed not in ORNAMENT_CUES:
        raise ParameterError(f"only ornaments can be removed ({list(ORNAMENT_CUES)}), got {removed!r}; the "
                             "vocal stem is one of the parts the clip's targets are computed from.")
    if not cues.get(removed, False):
        raise ParameterError(f"the clip does not carry the {removed} cue, so it cannot be removed.")
    if not labelled:
        return 0.0
    after = {**cues, removed: False}
    return float(shortcut) * (float(fires(variant, after)) - float(fires(variant, cues)))


class CueCounterfactuals:
    """A synthetic training set plus one version of each clip per ornament it carries, that ornament removed.

    Parameters
    ----------
    base : mer_audiolime.datasets.torch_data.TrackDataset
        The synthetic split as served by :func:`~mer_audiolime.datasets.torch_data.split_dataset` (whole
        clips, targets grouped as ``midlevel`` / ``emotion``, no scaling), loaded with a cue variant.
    cues : sequence of str
        The ornaments to remove, one per version (default all three).

    Attributes
    ----------
    items : list of (int, str or None)
        ``(base index, removed ornament)``; the first ``len(base)`` items are the originals.

    Notes
    -----
    Items are ``(audio (channels, samples) float32 tensor, {"midlevel": ..., "emotion": ...})`` like the base
    set's; only ``valence`` changes (see the module docstring). A clip whose stored label disagrees with its
    task's rule raises :class:`~mer_audiolime.exceptions.DatasetError` (the set was generated with other
    settings): counterfactual labels are only exact when the stored ones follow the rule.
    """

    def __init__(self, base, *, cues=ORNAMENT_CUES):
        bad = [c for c in cues if c not in ORNAMENT_CUES]
        if bad:
            raise ParameterError(f"unknown ornament cue(s) {bad}; choose from {list(ORNAMENT_CUES)}.")
        groups = getattr(base, "target_groups", None)
        if not groups or "emotion" not in groups or "valence" not in list(groups["emotion"]):
            raise ParameterError("base must serve grouped targets with valence among the emotions "
                                 "(use mer_audiolime.datasets.torch_data.split_dataset).")
        if getattr(base, "scale", None) is not None:
            raise ParameterError("base must serve unscaled targets: the label shift is in valence units.")
        self.base = base
        self.valence_index = list(groups["emotion"]).index("valence")
        self.cues = tuple(cues)
        self.items = [(i, None) for i in range(len(base))]
        for i, tid in enumerate(base.track_ids):
            flags = base.dataset.track(tid).cues
            self.items += [(i, cue) for cue in self.cues if flags.get(cue, False)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        i, cue = self.items[index % len(self)]
        audio, targets = self.base[i][:2]
        if cue is None:
            return audio, targets
        import torch  # the training path only; keeps this module importable without torch

        track = self.base.dataset.track(self.base.track_ids[i])
        flags = track.cues
        labelled = track.split in DEV_SPLITS  # the splits whose labels carry the shortcut
        expected = track.shortcut_size if (labelled and fires(track.variant, flags)) else 0.0
        if not np.isclose(track.shortcut, expected):
            raise DatasetError(f"{track.track_id}: its label carries a shortcut of {track.shortcut}, but the "
                               f"{track.variant} rule gives {expected}; regenerate the set with the "
                               "package's generator so the stored labels follow the rule.")
        mix, sr = track.audio
        wave = versions(mix, track.stems, track.nocue_stems, flags)[f"-{cue}"]
        wave = conform(wave, sr=int(sr), target_sr=self.base.sample_rate, channels=self.base.channels)
        emotion = targets["emotion"].clone()
        emotion[self.valence_index] += counterfactual_label_shift(track.variant, flags, cue,
                                                                  shortcut=track.shortcut_size,
                                                                  labelled=labelled)
        return torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), {**targets, "emotion": emotion}
