"""Contract test over every registered loader (mirdata's test_loaders, adapted): the index builds from the
fixture copy, loads, every Track property works, validate()/cite()/license() work, the CLI reaches it.

It runs over every fixture folder, including the variants that mirror other published layouts of a dataset
(``soundtracks_jyu``: the original .xls release; ``midlevel_aliases``: alias feature headers)."""

from __future__ import annotations

import inspect
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from mirdata import core

from mer_audiolime import datasets
from mer_audiolime.cli import main
from mer_audiolime.exceptions import DatasetError, IndexMissingError, ParameterError

RESOURCES = Path(__file__).resolve().parent / "resources"
EXPECTED = [
    "midlevel",
    "pmemo",
    "deam",
    "soundtracks",
    "emomusic",
    "mtg_jamendo_autotagging_moodtheme",
    "synthetic",
]
#: fixture folder -> (dataset, its track ids). Each folder mirrors a published layout of a real dataset.
FIXTURES = {
    "midlevel": ("midlevel", ["1", "2", "3"]),
    "midlevel_aliases": ("midlevel", ["1", "2"]),
    "pmemo": ("pmemo", ["1", "4", "7"]),
    "deam": ("deam", ["2", "3", "1001", "1002", "2001", "2002"]),
    "soundtracks": ("soundtracks", ["set1_001", "set1_002", "set2_001"]),
    "soundtracks_jyu": ("soundtracks", ["set1_001", "set1_002"]),
    "emomusic": ("emomusic", ["2", "3", "5"]),
    "mtg_jamendo_autotagging_moodtheme": (
        "mtg_jamendo_autotagging_moodtheme", ["track_0000948", "track_0001014"]
    ),
}
REAL = EXPECTED[:-1]  # loaders of real datasets (each has at least one fixture folder)
TRACK_IDS = {folder: ids for folder, (_, ids) in FIXTURES.items()}


@pytest.fixture(autouse=True)
def _no_user_index_dir(monkeypatch):
    monkeypatch.delenv("MER_AUDIOLIME_INDEX_DIR", raising=False)


@pytest.fixture
def copy_of(tmp_path):
    """Copy a fixture folder to tmp (tests never write into tests/resources)."""

    def make(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(RESOURCES / name, dest)
        return dest

    return make


def _indexed(folder, tmp_path):
    name = FIXTURES[folder][0]
    index = datasets.build_index(name, RESOURCES / folder, out=tmp_path / f"{folder}.json", progress=False)
    return datasets.load(name, data_home=RESOURCES / folder, index_path=index)


def test_every_real_loader_has_a_fixture():
    assert {name for name, _ in FIXTURES.values()} == set(REAL)


def test_registry_lists_all_seven():
    assert datasets.list_datasets() == EXPECTED


def test_unknown_name_is_a_parameter_error():
    with pytest.raises(ParameterError, match="unknown dataset"):
        datasets.load("gtzan")


def _check_contract(ds, expected_ids, capsys):
    assert isinstance(ds, core.Dataset)
    assert ds.track_ids == expected_ids

    # every public Track property and cached property is computable on every track
    tracks = ds.load_tracks()
    cov = ds.coverage() if hasattr(ds, "coverage") else None
    if cov is not None and cov["published"] is not None:  # the found/published count
        assert cov["found"] == len(expected_ids) and cov["published"] > len(expected_ids)
        assert not cov["complete"] and f"{len(expected_ids)} of {cov['published']}" in ds.coverage_line()
    assert sorted(tracks) == sorted(expected_ids)
    track_cls = type(next(iter(tracks.values())))
    assert track_cls.__doc__ and "Cached Properties" in track_cls.__doc__
    props = [
        n
        for n, v in inspect.getmembers(track_cls)
        if not n.startswith("_") and isinstance(v, (property, core.cached_property))
    ]
    assert "audio" in props
    for track in tracks.values():
        for prop in props:
            getattr(track, prop)
        audio, sr = track.audio
        assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] > 0
        assert sr == 22050.0
        for key, value in track.static_targets.items():
            assert isinstance(value, float), (ds.name, track.track_id, key)
        assert repr(track).startswith("Track(")
    assert ds.choice_track().track_id in expected_ids

    missing, invalid = ds.validate(verbose=False)
    assert all(not v for v in missing.values()) and all(not v for v in invalid.values())

    ds.cite()
    ds.license()
    out = capsys.readouterr().out
    assert "@" in out and "License" in out
    assert ds.name in repr(ds)


@pytest.mark.parametrize("folder", list(FIXTURES))
def test_loader_contract(folder, tmp_path, capsys):
    ds = _indexed(folder, tmp_path)
    assert ds.name == FIXTURES[folder][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.MetadataWarning)  # the deam fixture has a shifted row
        _check_contract(ds, TRACK_IDS[folder], capsys)


@pytest.fixture(scope="module")
def synthetic_home(tmp_path_factory):
    try:
        from mer_audiolime.datasets.synthetic import generate
    except (ImportError, DatasetError) as err:  # the synthetic benchmark is developed separately
        pytest.skip(f"synthetic benchmark not available: {err}")
    home = tmp_path_factory.mktemp("synthetic")
    generate(home, n=2, seed=0, duration=1.0, n_jobs=1, progress=False)
    return home


def test_synthetic_loader_contract(synthetic_home, capsys):
    ds = datasets.load("synthetic", data_home=synthetic_home)
    assert ds.name == "synthetic"
    _check_contract(ds, ["synth0000", "synth0001"], capsys)


def test_synthetic_has_no_recipe_to_run(synthetic_home):
    with pytest.raises(DatasetError, match="writes its own index"):
        datasets.build_index("synthetic", synthetic_home)


@pytest.mark.parametrize("folder", list(FIXTURES))
def test_index_written_into_data_home_is_found(folder, copy_of):
    name = FIXTURES[folder][0]
    home = copy_of(folder)
    with pytest.raises(IndexMissingError, match=f"datasets index {name} --data-home"):
        _ = datasets.load(name, data_home=home).track_ids
    path = datasets.build_index(name, home, progress=False)
    assert path.parent == home.resolve() and path.name.startswith(f"{name}_index_")
    ds = datasets.load(name, data_home=home)
    assert ds.track_ids == TRACK_IDS[folder]
    assert Path(ds.index_path) == path


@pytest.mark.parametrize("folder", list(FIXTURES))
def test_user_index_dir_is_searched(folder, copy_of, tmp_path, monkeypatch):
    name = FIXTURES[folder][0]
    home = copy_of(folder)
    index_dir = tmp_path / "indexes"
    target = datasets.default_index_path(name, index_dir)
    datasets.build_index(name, home, out=target, progress=False)
    monkeypatch.setenv("MER_AUDIOLIME_INDEX_DIR", str(index_dir))
    assert datasets.load(name, data_home=home).track_ids == TRACK_IDS[folder]


@pytest.mark.parametrize("folder", list(FIXTURES))
def test_index_is_deterministic_and_relative(folder, tmp_path):
    name = FIXTURES[folder][0]
    a = datasets.build_index(name, RESOURCES / folder, out=tmp_path / "a.json", progress=False)
    b = datasets.build_index(name, RESOURCES / folder, out=tmp_path / "b.json", progress=False)
    assert a.read_bytes() == b.read_bytes()
    assert str(RESOURCES) not in a.read_text()


@pytest.mark.parametrize("name", REAL + ["synthetic"])
def test_dataset_info_describes_without_data(name):
    try:
        info = datasets.dataset_info(name)
    except DatasetError:
        pytest.skip(f"{name} loader not available in this checkout yet")
    assert info["name"] == name and info["license"] and info["bibtex"]
    if name in REAL:
        assert (Path(__file__).resolve().parents[1] / info["card"]).is_file()


def test_cli_list_shows_all_seven(capsys):
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    for name in EXPECTED:
        assert name in out


@pytest.mark.parametrize("folder", list(FIXTURES))
def test_cli_index_then_info_then_validate(folder, copy_of, capsys):
    name, ids = FIXTURES[folder]
    home = copy_of(folder)
    assert main(["datasets", "index", name, "--data-home", str(home), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{len(ids)} tracks" in out and "validate(): all files present" in out
    published = datasets.dataset_info(name)["published"]
    if published is not None:
        assert f"{len(ids)} of {published} published tracks indexed" in out
    assert main(["datasets", "info", name, "--data-home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"({len(ids)} tracks)" in out
    if published is not None:
        assert f"published: {published} tracks" in out and f"{len(ids)} of {published} published" in out
    assert main(["datasets", "validate", name, "--data-home", str(home)]) == 0
    assert "all files present and matching" in capsys.readouterr().out


def test_cli_errors_exit_1(tmp_path, capsys):
    assert main(["datasets", "info", "nope"]) == 1
    assert main(["datasets", "index", "deam", "--data-home", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset" in err and "does not exist" in err


@pytest.mark.parametrize("action", ["list", "info", "index", "validate"])
def test_cli_help_shows_an_example(action, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["datasets", action, "--help"])
    assert exc.value.code == 0
    assert "Example" in capsys.readouterr().out
