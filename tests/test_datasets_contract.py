"""Contract test over every registered loader (mirdata's test_loaders, adapted): the index builds from the
fixture copy, loads, every Track property works, validate()/cite()/license() work, the CLI reaches it."""

from __future__ import annotations

import inspect
import shutil
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
REAL = EXPECTED[:-1]  # loaders with a fixture folder mirroring a real dataset
TRACK_IDS = {
    "midlevel": ["1", "2", "3"],
    "pmemo": ["1", "4", "7"],
    "deam": ["2", "3", "2001"],
    "soundtracks": ["set1_001", "set1_002", "set2_001"],
    "emomusic": ["2", "3", "5"],
    "mtg_jamendo_autotagging_moodtheme": ["track_0000948", "track_0001014"],
}


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


def _indexed(name, tmp_path):
    index = datasets.build_index(name, RESOURCES / name, out=tmp_path / f"{name}.json", progress=False)
    return datasets.load(name, data_home=RESOURCES / name, index_path=index)


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


@pytest.mark.parametrize("name", REAL)
def test_loader_contract(name, tmp_path, capsys):
    ds = _indexed(name, tmp_path)
    assert ds.name == name
    _check_contract(ds, TRACK_IDS[name], capsys)


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


@pytest.mark.parametrize("name", REAL)
def test_index_written_into_data_home_is_found(name, copy_of):
    home = copy_of(name)
    with pytest.raises(IndexMissingError, match=f"datasets index {name} --data-home"):
        _ = datasets.load(name, data_home=home).track_ids
    path = datasets.build_index(name, home, progress=False)
    assert path.parent == home.resolve() and path.name.startswith(f"{name}_index_")
    ds = datasets.load(name, data_home=home)
    assert ds.track_ids == TRACK_IDS[name]
    assert Path(ds.index_path) == path


@pytest.mark.parametrize("name", REAL)
def test_user_index_dir_is_searched(name, copy_of, tmp_path, monkeypatch):
    home = copy_of(name)
    index_dir = tmp_path / "indexes"
    target = datasets.default_index_path(name, index_dir)
    datasets.build_index(name, home, out=target, progress=False)
    monkeypatch.setenv("MER_AUDIOLIME_INDEX_DIR", str(index_dir))
    assert datasets.load(name, data_home=home).track_ids == TRACK_IDS[name]


@pytest.mark.parametrize("name", REAL)
def test_index_is_deterministic_and_relative(name, tmp_path):
    a = datasets.build_index(name, RESOURCES / name, out=tmp_path / "a.json", progress=False)
    b = datasets.build_index(name, RESOURCES / name, out=tmp_path / "b.json", progress=False)
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


@pytest.mark.parametrize("name", REAL)
def test_cli_index_then_info(name, copy_of, capsys):
    home = copy_of(name)
    assert main(["datasets", "index", name, "--data-home", str(home), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{len(TRACK_IDS[name])} tracks" in out and "validate(): all files present" in out
    assert main(["datasets", "info", name, "--data-home", str(home)]) == 0
    assert f"({len(TRACK_IDS[name])} tracks)" in capsys.readouterr().out


def test_cli_errors_exit_1(tmp_path, capsys):
    assert main(["datasets", "info", "nope"]) == 1
    assert main(["datasets", "index", "deam", "--data-home", str(tmp_path / "absent")]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset" in err and "does not exist" in err


@pytest.mark.parametrize("action", ["list", "info", "index"])
def test_cli_help_shows_an_example(action, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["datasets", action, "--help"])
    assert exc.value.code == 0
    assert "Example" in capsys.readouterr().out
