"""Regenerate the tiny dataset fixtures under tests/resources/<name>/.

Each folder mirrors its dataset's real layout (file names, folders, CSV separators and column spellings) with
2-3 tracks of 1 s generated audio (22,050 Hz mono MP3, written by soundfile/libsndfile). Values are made up;
only the *format* is real. Run from the repository root:

    .venv/bin/python tests/resources/make_fixtures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent
SR = 22050


def tone(path: Path, freq: float, *, seconds: float = 1.0) -> None:
    """A decaying two-partial tone: deterministic, audible, not silent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(SR * seconds)) / SR
    y = 0.3 * np.sin(2 * np.pi * freq * t) + 0.1 * np.sin(2 * np.pi * 2 * freq * t)
    y *= np.exp(-1.5 * t)
    fmt = "MP3" if path.suffix == ".mp3" else None
    sf.write(str(path), y.astype(np.float32), SR, format=fmt)


def text(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8", newline="")


def midlevel() -> None:
    root = ROOT / "midlevel"
    text(
        root / "metadata_annotations" / "annotations.csv",
        "song_id,melodiousness,articulation,rhythm_complexity,rhythm_stability,dissonance,tonal_stability,minorness\n"
        "1,7.1,3.2,4.4,6.5,2.2,7.8,3.3\n"
        "2,4.0,6.6,5.1,4.9,5.5,4.1,6.0\n"
        "3,5.5,5.0,2.9,8.0,1.9,6.6,2.5\n",
    )
    text(
        root / "metadata_annotations" / "metadata.csv",
        "song id;Source;Description;Filename;Artist\n"
        "1;www.jamendo.com;calm acoustic piece;1.mp3;Artist One\n"
        "2;soundtracks;film music excerpt;2.mp3;Composer Two\n"
        "3;magnatune;ambient;3.mp3;Artist Three\n",
    )
    for i, f in ((1, 220.0), (2, 330.0), (3, 440.0)):
        tone(root / "audio" / f"{i}.mp3", f)


def pmemo() -> None:
    root = ROOT / "pmemo" / "PMEmo2019"
    text(
        root / "metadata.csv",
        "musicId,fileName,title,artist,album,duration,chorus_start_time,chorus_end_time\n"
        "1,1.mp3,Song A,Solo Singer,Album A,240.5,60.2,90.1\n"
        "4,4.mp3,Song B,Band B,Album B,200.0,45.0,75.5\n"
        "7,7.mp3,Song C,Band B,Album C,180.0,30.0,61.0\n"
        "9,9.mp3,Song D,Other,Album D,150.0,20.0,50.0\n",
    )
    text(
        root / "annotations" / "static_annotations.csv",
        "musicId,Arousal(mean),Valence(mean)\n1,0.4,0.575\n4,0.2625,0.2875\n7,0.75,0.6\n9,0.5,0.5\n",
    )
    text(
        root / "annotations" / "static_annotations_std.csv",
        "musicId,Arousal(std),Valence(std)\n1,0.1,0.12\n4,0.2,0.15\n7,0.05,0.1\n9,0.1,0.1\n",
    )
    text(
        root / "annotations" / "dynamic_annotations.csv",
        "musicId,frameTime,Arousal(mean),Valence(mean)\n"
        "1,15.0,0.35,0.5\n1,15.5,0.4,0.55\n1,16.0,0.45,0.6\n"
        "4,15.0,0.2,0.3\n4,15.5,0.25,0.3\n",
    )
    text(
        root / "annotations" / "dynamic_annotations_std.csv",
        "musicId,frameTime,Arousal(std),Valence(std)\n1,15.0,0.1,0.1\n1,15.5,0.1,0.1\n1,16.0,0.1,0.1\n",
    )
    for i, f in ((1, 262.0), (4, 294.0), (7, 349.0)):  # song 9 has annotations but no audio
        tone(root / "chorus" / f"{i}.mp3", f)


def deam() -> None:
    root = ROOT / "deam"
    song_level = root / "DEAM_Annotations" / "annotations" / "annotations averaged per song" / "song_level"
    # The real files' column names start with a space after each comma.
    text(
        song_level / "static_annotations_averaged_songs_1_2000.csv",
        "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
        "2,3.1,0.94,3,0.63\n3,3.5,1.75,3.3,1.62\n",
    )
    text(
        song_level / "static_annotations_averaged_songs_2000_2058.csv",
        "song_id, valence_mean, valence_std, valence_max_mean, valence_max_std, valence_min_mean, "
        "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, arousal_min_mean, "
        "arousal_min_std\n"
        "2001,6.2,1.1,7,1,5,1,5.8,0.9,7,1,4,1\n",
    )
    dyn = root / "DEAM_Annotations" / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)"
    text(dyn / "arousal.csv", "song_id,sample_15000ms,sample_15500ms,sample_16000ms\n2,-0.11,-0.1,-0.09\n3,0.2,0.21,\n")
    text(dyn / "valence.csv", "song_id,sample_15000ms,sample_15500ms,sample_16000ms\n2,-0.2,-0.19,-0.18\n3,0.1,0.12,\n")
    text(
        root / "metadata" / "metadata_2013.csv",
        "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),Genre\n"
        "2,2.mp3,Some Artist,Song Two,0.30,1.15,Blues\n3,3.mp3,Other Artist,Song Three,1.00,1.45,Hip-Hop\n",
    )
    for i, f in ((2, 196.0), (3, 247.0), (2001, 392.0)):
        tone(root / "DEAM_audio" / "MEMD_audio" / f"{i}.mp3", f)


def soundtracks() -> None:
    root = ROOT / "soundtracks"
    text(
        root / "mean_ratings_set1.csv",
        "number,valence,energy,tension,anger,fear,happy,sad,tender,TARGET\n"
        "1,3.67,7.33,7.83,4.5,5.67,1.17,1.5,1.17,ANGER_HIGH\n"
        "2,6.2,5.1,3.4,1.2,1.5,6.8,2.0,4.9,HAPPY_HIGH\n",
    )
    text(
        root / "mean_ratings_set2.csv",
        "number,Valence,Energy,Tension,Anger,Fear,Happy,Sad,Tender,Beauty,Liking,TARGET,soundtrack,link\n"
        "1,2.5,7.9,8.1,6.2,5.0,1.1,1.8,1.0,3.2,4.4,ANGER_HIGH,Batman Returns,1\n",
    )
    tone(root / "Set1" / "001.mp3", 311.0)
    tone(root / "Set1" / "002.mp3", 370.0)
    tone(root / "Set2" / "001.mp3", 415.0)


def emomusic() -> None:
    root = ROOT / "emomusic"
    ann = root / "annotations"
    text(
        ann / "static_annotations.csv",
        "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n2,3.1,0.99,3,0.66\n3,4.9,1.04,3.2,1.02\n"
        "5,6.1,1.2,6.4,1.1\n",
    )
    header = "song_id," + ",".join(f"sample_{ms}ms" for ms in (15000, 15500, 16000)) + "\n"
    text(ann / "arousal_cont_average.csv", header + "2,-0.17,-0.16,-0.15\n3,0.05,0.06,0.07\n5,0.3,0.31,0.32\n")
    text(ann / "valence_cont_average.csv", header + "2,-0.08,-0.07,-0.06\n3,0.01,0.02,0.03\n5,0.4,0.41,0.42\n")
    text(
        ann / "songs_info.csv",
        "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),"
        "Genre,Mediaeval 2013 set\n"
        "2,2.mp3,Artist A\t,Title A\t,0.31,1.16,Blues\t,development\n"
        "3,3.mp3,Artist B\t,Title B\t,1.02,1.47,Rock\t,development\n"
        "5,5.mp3,Artist C\t,Title C\t,0.00,0.45,Pop\t,evaluation\n",
    )
    for i, f in ((2, 233.0), (3, 277.0), (5, 311.0)):
        tone(root / "clips_45seconds" / f"{i}.mp3", f)


def mtg_jamendo() -> None:
    root = ROOT / "mtg_jamendo_autotagging_moodtheme"
    text(
        root / "data" / "autotagging_moodtheme.tsv",
        "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
        "track_0000948\tartist_000087\talbum_000149\t48/948.mp3\t212.7\tmood/theme---background\n"
        "track_0001014\tartist_000112\talbum_000175\t14/1014.mp3\t238.0\tmood/theme---happy\tmood/theme---party\n",
    )
    for k in range(5):
        for part, ids in (("train", ["track_0000948"]), ("validation", []), ("test", ["track_0001014"])):
            body = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n" + "".join(f"{i}\n" for i in ids)
            text(root / "data" / "splits" / f"split-{k}" / f"autotagging_moodtheme-{part}.tsv", body)
    tone(root / "audios" / "48" / "948.mp3", 180.0)
    tone(root / "audios" / "14" / "1014.mp3", 200.0)


if __name__ == "__main__":
    for build in (midlevel, pmemo, deam, soundtracks, emomusic, mtg_jamendo):
        build()
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"fixtures written under {ROOT} ({total / 1024:.0f} KiB)")
