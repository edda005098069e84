"""mnistgan.notebook: the tables say the numbers they were given, the figures draw them, and no path of the machine
leaks into what a reader sees. No kernel, no training: fast."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mnistgan import notebook as nb
from mnistgan.sample import save_png

METRICS = {  # one eval.json "metrics" dict, as run_eval writes it
    "digits_hist": [0.0, 0.0012, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0843, 0.6683, 0.2462],
    "modes": 3,
    "digits_kl": 1.49321,
    "digits_tv": 0.71834,
    "score": 1.49166,
    "fd": 100.38807,
}


def _rows(table: str) -> list[list[str]]:
    """The body rows of a Markdown table, cell by cell."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_eval_table_shows_the_json_values() -> None:
    table = nb.eval_table({"run": METRICS, "real": {**METRICS, "modes": 10}})
    assert table._repr_markdown_() == str(table)
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    run, real = _rows(table)
    assert len(header) == len(run) == 17 and run[0] == "run" and real[12] == "10"
    assert [float(v) / 100 for v in run[1:11]] == pytest.approx(METRICS["digits_hist"], abs=5e-4)
    assert run[header.index("not a digit")] == "0.0"  # METRICS predates `unreadable`: read as 0
    assert (
        nb.eval_table({"noise": {**METRICS, "unreadable": 1.0, "digits_kl": None, "digits_tv": None}}).count("n/a") == 2
    )
    for column, key, places in [("modes (≥ 1%)", "modes", 0), ("KL to test labels", "digits_kl", 3),
                                ("TV", "digits_tv", 3), ("score", "score", 2), ("FD", "fd", 2)]:  # fmt: skip
        assert float(run[header.index(column)]) == pytest.approx(METRICS[key], abs=0.5 * 10**-places), column


def test_loss_summary_and_table() -> None:
    rows = [{"step": s, "d_loss": 1.0 + s, "g_loss": 2.0, "d_real": 0.9, "d_fake": 0.1} for s in range(20)]
    s = nb.loss_summary(rows)
    assert s["d_loss"] == pytest.approx(np.mean([19.0, 20.0]))  # the last tenth: 2 of 20 rows
    assert s["min_d_loss"] == 1.0 and s["all_finite"] is True
    assert nb.loss_summary([*rows, {**rows[0], "g_loss": math.nan}])["all_finite"] is False
    ideal, run = _rows(nb.loss_table({"short": s}))
    assert float(ideal[1]) == pytest.approx(2 * math.log(2), abs=5e-4)
    assert run == ["short", "19.500", "2.000", "0.900", "0.100", "1.000", "True"]


def test_reproduce_table_judges_only_runs_of_the_target_length() -> None:
    results = {"short_run": {"d_loss": 0.03, "d_real": 0.99, "d_fake": 0.5}, "short_run_eval": {"modes": 3}}
    rows = {r[0]: r for r in _rows(nb.reproduce_table(results, nb.TARGET_STEPS))}
    what = {key: spec[0] for key, spec in nb.TARGETS.items()}
    assert rows[what["short_run.d_loss"]][1:] == ["0.03", f"{nb.TARGETS['short_run.d_loss'][1]:.4g} to "
                                                 f"{nb.TARGETS['short_run.d_loss'][2]:.4g}", "yes"]  # fmt: skip
    assert rows[what["short_run.d_fake"]][3] == "**no**"  # 0.5 is outside 0 to 0.1
    assert rows[what["short_run_eval.fd"]][1:] == ["–", rows[what["short_run_eval.fd"]][2], "not computed"]
    short = {r[0]: r for r in _rows(nb.reproduce_table(results, 200))}
    assert short[what["short_run.d_loss"]][3].startswith("not judged (200 steps")


def test_flat_results_and_results_table() -> None:
    results = {"a": 1, "b": {"c": 0.5, "d": {"e": True}}}
    assert nb.flat_results(results) == {"a": 1, "b.c": 0.5, "b.d.e": True}
    assert _rows(nb.results_table(results)) == [["a", "1"], ["b.c", "0.5"], ["b.d.e", "True"]]


def test_digit_share_bars_draw_the_shares() -> None:
    fig = nb.digit_share_bars({"run": METRICS["digits_hist"], "uniform": [0.1] * 10})
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([100 * v for v in METRICS["digits_hist"]] + [10.0] * 10)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run", "uniform"]


def test_figures_have_one_panel_per_image_and_run(tmp_path: Path) -> None:
    images = np.zeros((5, 28, 28), dtype=np.uint8)
    fig = nb.image_row(images, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6 and sum(bool(ax.images) for ax in fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes[:5]] == list("abcde")
    assert len(nb.grids({"x": np.zeros((60, 60)), "y": np.zeros((60, 60))}).axes) == 2
    assert len(nb.two_passes_diagram().axes) == 2
    curves = nb.loss_curves(np.linspace(0.01, 0.99, 5), {"l": np.zeros(5)}, {"g": np.ones(5)})
    assert [len(ax.lines) for ax in curves.axes] == [2, 1]  # the loss and the zero line; the gradient
    for step in (0, 100, 200, 300, 400, 500):  # a run's progress grids: 8×8 images of 28 pixels, 2× enlarged
        (tmp_path / "progress").mkdir(exist_ok=True)
        save_png(np.zeros((8 * 30 + 2, 8 * 30 + 2), dtype=np.uint8), tmp_path / "progress" / f"step_{step:06d}.png", 2)
    strips = nb.progress_strips({"run": tmp_path}, n=5)
    titles = [ax.get_title() for ax in strips.axes]
    assert titles == [f"run\nstep {s}" for s in (0, 100, 200, 400, 500)]  # evenly spaced, first and last
    assert strips.axes[0].images[0].get_array().shape == (2 * 122, 2 * 122)


def test_shown_path_hides_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert nb.shown_path("../runs/tutorial") == "../runs/tutorial"
    assert nb.shown_path(tmp_path / "notebooks" / "run") == "run"
    elsewhere = nb.shown_path("/somewhere/deep/user/runs/tutorial")
    assert not elsewhere.startswith("/") and elsewhere == "runs/tutorial"
