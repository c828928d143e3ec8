"""Regenerate the tiny dataset fixtures under tests/resources/<name>/.

Each folder mirrors its dataset's real layout (file names, folders, separators, column spellings and the
quirks of the published files) with 2-6 tracks of 1 s generated audio (22,050 Hz mono MP3, written by
soundfile/libsndfile, byte-identical on every run). Values are made up; only the *format* is real, and every
builder names where that format is documented. Variant folders (``<name>_<variant>/``) mirror other
published layouts of the same dataset. Run from the repository root:

    .venv/bin/python tests/resources/make_fixtures.py

The one binary annotation file, ``soundtracks_jyu/mean_ratings_set1.xls``, is written by :func:`write_xls`
below: a minimal BIFF8 workbook (the Excel 97-2003 format of the original release) inside an OLE2 compound
file, built with the standard library only (no xls writer is a dependency); pandas reads it back with
``read_excel(engine="xlrd")``.
"""

from __future__ import annotations

import struct
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


# ----------------------------------------------------------------------------------------------------------
# A minimal .xls writer: BIFF8 records (BOF, CODEPAGE, FONT, XF, SST, BOUNDSHEET, DIMENSIONS, NUMBER,
# LABELSST, EOF; Microsoft [MS-XLS]) in an OLE2 compound file with one "Workbook" stream ([MS-CFB], version 3,
# 512-byte sectors).
# ----------------------------------------------------------------------------------------------------------
def _record(rtype: int, payload: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(payload)) + payload


def _biff8_workbook(rows: list) -> bytes:
    """The Workbook stream of a one-sheet workbook; ``rows`` holds str and float cells (None = empty)."""
    strings = []
    for row in rows:
        for value in row:
            if isinstance(value, str) and value not in strings:
                strings.append(value)
    n_refs = sum(isinstance(v, str) for row in rows for v in row)
    sst = struct.pack("<II", n_refs, len(strings)) + b"".join(
        struct.pack("<HB", len(s), 0) + s.encode("latin-1") for s in strings)
    bof_globals = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    codepage = _record(0x0042, struct.pack("<H", 1200))
    sheet_name = b"Sheet1"

    def boundsheet(offset: int) -> bytes:
        return _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(sheet_name), 0) + sheet_name)

    font = _record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + b"\x05\x00Arial")
    # 15 style XFs and the cell XF 15 that every cell uses (Excel's default table; "General" number format)
    style_xf = _record(0x00E0, struct.pack("<HHHBBBBIiH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    cell_xf = _record(0x00E0, struct.pack("<HHHBBBBIiH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    head = bof_globals + codepage + font + style_xf * 15 + cell_xf + _record(0x00FC, sst)
    globals_len = len(head) + len(boundsheet(0)) + len(_record(0x000A, b""))
    globals_ = head + boundsheet(globals_len) + _record(0x000A, b"")
    n_cols = max(len(r) for r in rows)
    sheet = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
    sheet += _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, n_cols, 0))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet += _record(0x00FD, struct.pack("<HHHI", r, c, 15, strings.index(value)))
            else:
                sheet += _record(0x0203, struct.pack("<HHHd", r, c, 15, float(value)))
    sheet += _record(0x000A, b"")
    return globals_ + sheet


def _compound_file(stream: bytes, name: str = "Workbook") -> bytes:
    """Wrap ``stream`` as the only stream of an OLE2 compound file (padded past the 4096-byte mini cutoff)."""
    sector = 512
    stream = stream + b"\x00" * max(0, 4096 - len(stream))
    stream = stream + b"\x00" * (-len(stream) % sector)
    n_stream = len(stream) // sector
    dir_sector, fat_sector = n_stream, n_stream + 1
    end, free, fatsect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [i + 1 for i in range(n_stream - 1)] + [end, end, fatsect]
    fat += [free] * (sector // 4 - len(fat))

    def entry(entry_name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = entry_name.encode("utf-16-le") + b"\x00\x00" if entry_name else b""
        return (raw.ljust(64, b"\x00") + struct.pack("<HBBIII", len(raw), kind, 1 if kind else 0, nostream,
                                                      nostream, child) + b"\x00" * 16 + struct.pack("<I", 0)
                + b"\x00" * 16 + struct.pack("<III", start, size, 0))

    directory = (entry("Root Entry", 5, 1, end, 0) + entry(name, 2, nostream, 0, len(stream))
                 + entry("", 0, nostream, free, 0) + entry("", 0, nostream, free, 0))
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, 1, dir_sector, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", fat_sector) + struct.pack("<I", free) * 108)
    return header + stream + directory + struct.pack(f"<{sector // 4}I", *fat)


def write_xls(path: Path, rows: list) -> None:
    """Write ``rows`` (first row = header) as a one-sheet legacy Excel ``.xls`` workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_compound_file(_biff8_workbook(rows)))


# ----------------------------------------------------------------------------------------------------------
# The datasets
# ----------------------------------------------------------------------------------------------------------
def midlevel() -> None:
    # Layout and separators: the dataset's OSF page (osf.io/5aupt, metadata_annotations.zip: annotations.csv
    # is comma-separated, metadata.csv semicolon-separated) and the loaders of the SMC-2021 authors
    # (`pd.read_csv(path_midlevel_metadata, sep=';')`, columns 'song id', 'Source', 'Artist').
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


def midlevel_aliases() -> None:
    # Copies whose annotations.csv names the features melody / atonality / mode and puts a space after each
    # comma: the SMC-2021 authors strip the spaces (`ann.columns.str.replace(' ', '')`) and name the first
    # column 'melody'; other public loaders of the same file rename its columns to [..., 'dissonance',
    # 'atonality', 'mode'] (tonal stability and minorness). The values are used as they are (no inversion).
    root = ROOT / "midlevel_aliases"
    text(
        root / "metadata_annotations" / "annotations.csv",
        "song_id, melody, articulation, rhythm_complexity, rhythm_stability, dissonance, atonality, mode\n"
        "1,7.1,3.2,4.4,6.5,2.2,7.8,3.3\n"
        "2,4.0,6.6,5.1,4.9,5.5,4.1,6.0\n",
    )
    text(
        root / "metadata_annotations" / "metadata.csv",
        "song id;Source;Description;Filename;Artist\n"
        "1;www.jamendo.com;calm acoustic piece;1.mp3;Artist One\n"
        "2;soundtracks;film music excerpt;2.mp3;Composer Two\n",
    )
    for i, f in ((1, 220.0), (2, 330.0)):
        tone(root / "audio" / f"{i}.mp3", f)


def pmemo() -> None:
    # PMEmo2019 layout and columns: github.com/HuiZhangDB/PMEmo (README; the authors' lyric notebook parses
    # chorus_start_time / chorus_end_time as "mm:ss" strings with `split(':')`, their sample page shows
    # "chorus": ["02:50", "03:37"]). Dynamic ratings every 0.5 s starting at 15.5 s ("the first 15-second
    # annotations are removed"; the sample series starts at t = 15.5). 794 songs, 767 with static ratings
    # (docs/data/overview.json of the same repository).
    root = ROOT / "pmemo" / "PMEmo2019"
    text(
        root / "metadata.csv",
        "musicId,fileName,title,artist,album,duration,chorus_start_time,chorus_end_time\n"
        "1,1.mp3,Song A,Solo Singer,Album A,240.5,01:00,01:30\n"
        "4,4.mp3,Song B,Band B,Album B,200.0,00:45,01:15\n"
        "7,7.mp3,Song C,Band B,Album C,180.0,02:50,03:37\n"
        "9,9.mp3,Song D,Other,Album D,150.0,00:20,00:50\n",
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
        "1,15.5,0.35,0.5\n1,16.0,0.4,0.55\n1,16.5,0.45,0.6\n"
        "4,15.5,0.2,0.3\n4,16.0,0.25,0.3\n",
    )
    text(
        root / "annotations" / "dynamic_annotations_std.csv",
        "musicId,frameTime,Arousal(std),Valence(std)\n1,15.5,0.1,0.1\n1,16.0,0.1,0.1\n1,16.5,0.1,0.1\n",
    )
    for i, f in ((1, 262.0), (4, 294.0), (7, 349.0)):  # song 9 has annotations but no audio
        tone(root / "chorus" / f"{i}.mp3", f)


def deam() -> None:
    # Layout of the three archives: cvml.unige.ch/databases/DEAM (DEAM_audio.zip -> MEMD_audio/,
    # DEAM_Annotations.zip -> annotations/annotations averaged per song/{song_level, dynamic (per second
    # annotations)}, metadata.zip -> metadata/metadata_2013|2014|2015.csv); paths as in the SMC-2021 authors'
    # paths.py. 1744 excerpts in the first static file, 58 full songs in the second.
    root = ROOT / "deam"
    avg = root / "DEAM_Annotations" / "annotations" / "annotations averaged per song"
    # Static files: every column name after the first starts with a space, and the second file spells one
    # column "valence_ max_mean" (reported by public loaders that strip the headers, e.g. winzerprince/sentio
    # docs/deam_dataset_path_fix.md, which shows both headers verbatim).
    text(
        avg / "song_level" / "static_annotations_averaged_songs_1_2000.csv",
        "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
        "2,3.1,0.94,3,0.63\n3,3.5,1.75,3.3,1.62\n1001,6.1,1.2,6.5,1.1\n1002,4.4,1.3,5.2,1.4\n",
    )
    text(
        avg / "song_level" / "static_annotations_averaged_songs_2000_2058.csv",
        "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
        "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, arousal_min_mean, "
        "arousal_min_std\n"
        "2001,6.2,1.1,7,1,5,1,5.8,0.9,7,1,4,1\n"
        "2002,3.2,0.98,5.0,1.41,2.2,0.98,6.6,0.8,8.6,0.49,3.4,1.02\n",
    )
    # Dynamic files: one row per song, 2 Hz columns from sample_15000ms; shorter songs end in empty cells.
    dyn = avg / "dynamic (per second annotations)"
    text(dyn / "arousal.csv", "song_id,sample_15000ms,sample_15500ms,sample_16000ms\n"
                              "2,-0.11,-0.1,-0.09\n3,0.2,0.21,\n1001,0.3,0.31,0.32\n")
    text(dyn / "valence.csv", "song_id,sample_15000ms,sample_15500ms,sample_16000ms\n"
                              "2,-0.2,-0.19,-0.18\n3,0.1,0.12,\n1001,0.25,0.26,0.27\n")
    # Metadata: the three years have different headers and are ragged (public loaders of metadata.zip read
    # them with `on_bad_lines='skip'` / `truncate_ragged_lines=True` or positionally; their notes: 2013 has
    # tab-padded quoted fields, 2014 is "Id, Artist, Album, Track, Genre", two segment-time columns, then a
    # variable number of last.fm tag fields, with hyphen-joined genres; 2015 is "id, ..., title, artist,
    # album, genre" with extra genre tokens and column-shifted rows that push a number into the title slot).
    # The names of the 2014 segment columns and of the 2015 file-name column are not documented: placeholders
    # here.
    meta = root / "metadata"
    text(
        meta / "metadata_2013.csv",
        "song_id,file_name,Artist,Song title,start of the segment (min.sec),end of the segment (min.sec),"
        "Genre\n"
        '2,"2.mp3\t","Some Artist\t","Song Two\t",0.30,1.15,"Blues\t"\n'
        '3,"3.mp3\t","Other Artist\t","Song Three\t",1.00,1.45,"Hip-Hop\t"\n',
    )
    text(
        meta / "metadata_2014.csv",
        "Id,Artist,Album,Track,Genre,Segment start,Segment end\n"
        "1001,MC Example,Street Tapes,Corner Song,Hip-Hop-Electronic,30,75,rap,urban,chill\n"
        "1002,Band Y,Album Y,Song Y,Rock-Pop,60,105,guitar\n",
    )
    text(
        meta / "metadata_2015.csv",
        "id,Filename,title,artist,album,genre\n"
        "2001,2001.mp3,Full Song,Some Band,N/A,Electronic,Dance\n"
        "2002,2002.mp3,2002,Lost Title,Other Band,Album Z,Pop\n",
    )
    for i, f in ((2, 196.0), (3, 247.0), (1001, 262.0), (1002, 277.0), (2001, 392.0), (2002, 415.0)):
        tone(root / "DEAM_audio" / "MEMD_audio" / f"{i}.mp3", f)


def soundtracks() -> None:
    # OSF release (osf.io/p6vkg, README.md): Set1.zip / Set2.zip with 001.mp3 ..., mean_ratings_set1.csv
    # ("number, valence, energy, tension, anger, fear, happy, sad, tender, TARGET") and mean_ratings_set2.csv
    # (capitalised ratings plus Beauty, Liking, TARGET, soundtrack, link). Copies of the set-1 CSV capitalise
    # "Number" and end every line with two empty columns (public code drops them:
    # `.drop(columns=['Unnamed: 10', 'Unnamed: 11'])`).
    root = ROOT / "soundtracks"
    text(
        root / "mean_ratings_set1.csv",
        "Number,valence,energy,tension,anger,fear,happy,sad,tender,TARGET,,\n"
        "1,3.67,7.33,7.83,4.5,5.67,1.17,1.5,1.17,ANGER_HIGH,,\n"
        "2,6.2,5.1,3.4,1.2,1.5,6.8,2.0,4.9,HAPPY_HIGH,,\n",
    )
    text(
        root / "mean_ratings_set2.csv",
        "number,Valence,Energy,Tension,Anger,Fear,Happy,Sad,Tender,Beauty,Liking,TARGET,soundtrack,link\n"
        "1,2.5,7.9,8.1,6.2,5.0,1.1,1.8,1.0,3.2,4.4,ANGER_HIGH,Batman Returns,1\n",
    )
    tone(root / "Set1" / "001.mp3", 311.0)
    tone(root / "Set1" / "002.mp3", 370.0)
    tone(root / "Set2" / "001.mp3", 415.0)


def soundtracks_jyu() -> None:
    # The original release of the University of Jyväskylä (jyu.fi .../coe/materials/emotion/soundtracks, the
    # page the OSF README says the data first appeared on): set 1 unpacks to mean_ratings_set1.xls (one sheet,
    # header in row 1, the 360 stimuli in rows 2-361, ratings in columns 2-9: MATLAB users read
    # `readmatrix('mean_ratings_set1.xls')` with DataRange '2:361') and the audio in mp3/Soundtrack360_mp3/
    # (`dir([path 'mp3/Soundtrack360_mp3/*.mp3'])`); the set-2 workbook has columns Number, ..., fear, ...
    # (`readtable('mean_ratings_set2.xls')`, `data{i,'Number'}`).
    root = ROOT / "soundtracks_jyu"
    write_xls(
        root / "mean_ratings_set1.xls",
        [["Number", "valence", "energy", "tension", "anger", "fear", "happy", "sad", "tender", "TARGET"],
         [1.0, 3.67, 7.33, 7.83, 4.5, 5.67, 1.17, 1.5, 1.17, "ANGER_HIGH"],
         [2.0, 6.2, 5.1, 3.4, 1.2, 1.5, 6.8, 2.0, 4.9, "HAPPY_HIGH"]],
    )
    tone(root / "mp3" / "Soundtrack360_mp3" / "001.mp3", 311.0)
    tone(root / "mp3" / "Soundtrack360_mp3" / "002.mp3", 370.0)

def emomusic() -> None:
    # cvml.unige.ch/databases/emoMusic: 744 clips of 45 s (clips_45seconds/<id>.mp3), static ratings 1-9,
    # continuous ratings at 2 Hz from 15 s (sample_15000ms ... sample_45000ms) in [-1, 1]; column names and
    # the tab-padded songs_info.csv cells as read by jukemir (p-lambda/jukemir, jukemir/datasets/__init__.py,
    # iter_emomusic: `row = {k: v.strip() ...}`, "Mediaeval 2013 set", "start of the segment (min.sec)").
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
    # MTG-Jamendo (github.com/MTG/mtg-jamendo-dataset, data/autotagging_moodtheme.tsv and data/splits): one
    # tag per extra tab-separated field; layout as read by mirdata's mtg_jamendo_autotagging_moodtheme loader.
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
    for build in (midlevel, midlevel_aliases, pmemo, deam, soundtracks, soundtracks_jyu, emomusic,
                  mtg_jamendo):
        build()
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"fixtures written under {ROOT} ({total / 1024:.0f} KiB)")
