"""Published tables print no number that cannot vary: seed stability of enumerated settings reads "exact (no
sampling)"; committed tables are what today's table code makes of their committed rows."""

import pandas as pd
import pytest

from mer_audiolime.evaluation.results import (EXACT, drop_exact_stability, headline_table, read_rows,
                                              upgrade_rows, write_tables)

from conftest import REPO

STABILITY = ["jaccard_topk", "kendall_tau", "vsi", "csi"]
PUBLISHED = sorted(p.parent for p in (REPO / "evaluation" / "results").glob("**/results.csv"))


def _rows(spec):
    """Tidy rows from (model, target, source, metric, value, k, n, track, seed) tuples."""
    cols = ["model", "target", "source", "metric", "value", "k_components", "num_samples", "track_id", "seed"]
    frame = pd.DataFrame(spec, columns=cols)
    return frame.assign(component="", step=-1, suite="s", version="1")


def test_enumerated_stability_reads_exact_and_sampled_stability_is_a_number():
    spec = []
    for track, value in (("t1", 0.9), ("t2", 0.7)):
        # explanation setting: K = 5 enumerated (32 rows used); stability on K = 10 sampled for model "a"
        for model in ("a", "b"):
            spec += [(model, "valence", "chain:lime", "weight", 0.1, 5, 32, track, 0),
                     (model, "valence", "chain:lime", "surrogate_r2", 0.8, 5, 32, track, 0),
                     (model, "valence", "", "error", 0.05, 5, 32, track, -1)]
        spec += [("a", "valence", "chain:lime", "kendall_tau", value, 10, 1000, track, -1),
                 # a stability row of an enumerated setting (as old runs wrote them): cannot vary, not shown
                 ("b", "valence", "chain:lime", "kendall_tau", 1.0, 5, 32, track, -1)]
    table = headline_table(_rows(spec)).set_index("model")
    assert table.loc["a", "kendall_tau"] == "0.800 ± 0.141"
    assert table.loc["b", "kendall_tau"] == EXACT
    assert table.loc["b", "attribution"] == "chain:lime" and table.loc["b", "error"] == "0.050 ± 0.000"
    assert "kendall_tau" not in set(drop_exact_stability(_rows(spec)).query("model == 'b'").metric)


def test_legacy_rows_get_todays_names_and_the_source_they_were_computed_with():
    legacy = pd.DataFrame({
        "track_id": ["t"] * 4, "model": ["m"] * 4, "target": ["valence", "melodiousness", "valence", ""],
        "metric": ["infidelity", "aopc_deletion", "normalised_area", "model_calls"], "value": [0.1] * 4,
        "component": [""] * 4, "step": [-1] * 4, "seed": [0] * 4, "num_samples": [32] * 4,
        "k_components": [5] * 4, "suite": ["standard"] * 4, "version": ["1"] * 4})
    up = upgrade_rows(legacy)
    assert up.metric.tolist() == ["relative_infidelity", "norm_aopc_deletion_minus_random",
                                  "norm_abc_minus_random", "model_calls"]
    assert up.source.tolist() == ["chain:lime", "lime", "chain:lime", ""]


@pytest.mark.parametrize("folder", PUBLISHED, ids=lambda p: str(p.relative_to(REPO)))
def test_published_tables_are_todays_tables_of_their_rows(folder, tmp_path):
    rows = read_rows(folder / "results.csv")
    extra = {}
    if (folder / "bias.csv").is_file():
        extra["Planted-bias detection"] = pd.read_csv(folder / "bias.csv")
    from mer_audiolime.evaluation.results import LEGACY_NOTE

    write_tables(rows, tmp_path, extra=extra, notes=[LEGACY_NOTE] if "source" not in rows.columns else None)
    for name in ("summary.md", "summary.tex"):
        assert (folder / name).read_text(encoding="utf-8") == (tmp_path / name).read_text(encoding="utf-8"), (
            f"{folder / name} is stale: rebuild it with `mer-audiolime benchmark --rebuild-tables`")


@pytest.mark.parametrize("folder", PUBLISHED, ids=lambda p: str(p.relative_to(REPO)))
def test_no_published_stability_number_comes_from_an_enumerated_setting(folder):
    rows = upgrade_rows(read_rows(folder / "results.csv"))
    sampled = drop_exact_stability(rows)
    sampled = sampled[sampled.metric.isin(STABILITY)]
    table = (folder / "summary.md").read_text(encoding="utf-8")
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()
             if line.startswith("| ") and not line.startswith("| model")]
    names = [c.strip() for c in header.strip("|").split("|")]
    for metric in STABILITY:
        if metric not in names:
            continue
        column = {row[names.index(metric)] for row in cells if len(row) == len(names)}
        if sampled.empty:
            assert column <= {EXACT, "—"}, (metric, column)
    if sampled.empty:
        assert not (folder / "figures" / "stability.png").exists()
        assert not (folder / "figures" / "stability.pdf").exists()


def test_the_v1_benchmark_is_published_and_exact():
    v1 = REPO / "evaluation" / "results" / "synthetic-v1"
    assert v1 in PUBLISHED
    text = (v1 / "summary.md").read_text(encoding="utf-8")
    assert text.count(EXACT) == 4 * 20 + 1  # 20 rows x 4 stability columns, and the note under the table
    assert "1.000 ± 0.000" not in text
