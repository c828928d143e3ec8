"""The run summary reads right: metrics in tables that fit, each marked ↑/↓ as its metric declares,
figures sized for the page, track tables naming the largest influence with its sign, and progress while pages
are made."""

import struct

import pandas as pd
import pytest

from mer_audiolime.evaluation.directions import ROW_METRICS, arrow, metric_category, metric_direction
from mer_audiolime.evaluation.metrics import METRICS
from mer_audiolime.report import write_run_report
from mer_audiolime.report._summary import summary_tables
from mer_audiolime.report.run import headline_table, track_table

from report_helpers import evaluation_run

#: Row names that are the primary number of the metric computing them (same direction by definition).
PRIMARY = {"surrogate_r2": "r2", "norm_abc_minus_random": "norm_abc_minus_random",
           "faithfulness_correlation": "faithfulness_corr", "relative_infidelity": "relative_infidelity",
           "jaccard_topk": "jaccard", "kendall_tau": "kendall_tau", "csi": "csi"}


def test_directions_agree_with_the_metrics_that_compute_them():
    from mer_audiolime.evaluation.results import HEADLINE, LEGACY_METRIC_NAMES

    assert set(HEADLINE) <= set(ROW_METRICS)  # every headline column says which way is better
    for name, (direction, category, metric) in ROW_METRICS.items():
        if metric is None:
            continue
        cls = METRICS[metric]
        assert category in ("model", cls.category), name
        if name in PRIMARY:
            assert cls.primary == PRIMARY[name] and direction == cls.direction, name
    assert metric_direction("error") is None and arrow("error") == ""
    assert (arrow("surrogate_r2"), arrow("relative_infidelity")) == ("↑", "↓")
    for old, new in LEGACY_METRIC_NAMES.items():  # rows of older runs read the same
        assert metric_direction(old) == metric_direction(new)
    assert metric_direction("max_sensitivity") == "lower"  # unlisted names fall back to the registry
    assert metric_category("nonsense") == "other" and arrow("nonsense") == ""


def test_summary_tables_split_by_kind_with_arrows():
    head = pd.DataFrame([{"model": "m", "target": "valence", "surrogate_r2": "0.9 ± 0.1",
                          "relative_infidelity": "0.2",
                          "jaccard_topk": "1.0", "kendall_tau": "0.8", "error": "0.1", "unknown_col": "x"}])
    html = summary_tables(head)
    assert "norm_\u200babc" in summary_tables(head.assign(norm_abc_minus_random="0.2"))  # wraps at "_"
    html = html.replace("\u200b", "")  # the zero-width break opportunities after underscores
    assert html.count("<table>") == 4  # fidelity, stability, the model's accuracy, other
    for text in ("surrogate_r2 ↑", "relative_infidelity ↓", "jaccard_topk ↑", "kendall_tau ↑",
                 "<th>error</th>", "Stability across seeds", "↑ higher is better"):
        assert text in html, text
    assert html.count("<th>model</th>") == 4  # every table keeps the row keys
    assert summary_tables(pd.DataFrame()) == "<p>(no rows)</p>"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return evaluation_run(tmp_path_factory.mktemp("summary"))


def _png_size(path):
    data = path.read_bytes()[16:24]
    return struct.unpack(">II", data)


def test_figures_fit_the_page_and_curves_say_what_they_show(run_dir):
    figures = sorted((run_dir / "figures").glob("*.png"))
    assert {p.stem for p in figures} >= {"fidelity", "stability", "deletion_insertion_curves"}
    for path in figures:
        width, _ = _png_size(path)
        assert width <= 1650, f"{path.name} is {width} px wide"  # three panels per row, legend on top
    from mer_audiolime import plots

    assert plots._wrap(5) == 3 and plots._wrap(4) == 2 and plots._wrap(2) == 2 and plots._wrap(9) == 3


def test_curve_axis_is_labelled_normalised(run_dir, monkeypatch):
    from mer_audiolime import plots

    labels = []
    real = plots.save

    def spy(fig, folder, name):
        if name == "deletion_insertion_curves":
            labels.extend(ax.get_ylabel() for ax in fig.axes)
        return real(fig, folder, name)

    monkeypatch.setattr(plots, "save", spy)
    rows = pd.read_csv(run_dir / "results.csv", dtype={"track_id": str, "component": str},
                       keep_default_na=False)
    plots.run_figures(rows, run_dir / "figs-again")
    assert labels and any("normalised" in label for label in labels)
    assert not any(label == "model output" for label in labels)


def test_track_table_names_the_largest_influence_with_its_sign():
    rows = pd.DataFrame([
        {"track_id": "a", "metric": "weight", "component": c, "target": "valence", "value": v, "seed": 0}
        for c, v in (("piano@t0", -0.6), ("piano@t1", -0.45), ("bass@t0", 0.3), ("bass@t1", 0.2))])
    table = track_table(rows)
    assert table.loc[0, "top stem: valence"] == "piano (-1.05)"  # not bass, the largest positive one


def test_summary_page_and_progress(run_dir, capsys):
    rep = write_run_report(run_dir, tracks=1, top_k=1, progress=True)
    err = capsys.readouterr().err
    assert "track pages" in err and "1/1" in err
    html = rep.path.read_text().replace("\u200b", "")
    assert "surrogate_r2 ↑" in html and "relative_infidelity ↓" in html and "Fidelity" in html
    write_run_report(run_dir, tracks=1, top_k=1, progress=False, regenerate=True)
    assert "track pages" not in capsys.readouterr().err
    head = headline_table(pd.read_csv(run_dir / "results.csv", dtype={"track_id": str, "component": str},
                                      keep_default_na=False))
    assert len(head)
