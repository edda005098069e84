"""Figures that stand alone: a title naming the run's preset and step, and no smoothing claimed where none is done."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from mnistgan.plots import plot_losses, run_title


def test_title_names_preset_and_steps(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"preset": "conv-clusters", "steps": 12000}))
    assert run_title(tmp_path, 300) == "conv-clusters, step 300 of 12,000"
    (tmp_path / "config.json").write_text("{broken")
    assert run_title(tmp_path, 300) == f"{tmp_path.name}, step 300"


def _legends(rows: list[dict], tmp_path: Path, monkeypatch) -> list[str]:  # noqa: ANN001
    import mnistgan.plots as plots

    drawn = []
    real_save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: (drawn.append(fig), real_save(fig, path)))
    plot_losses(rows, tmp_path / "losses.png", "tutorial, step 30 of 30")
    fig = drawn[0]
    assert fig._suptitle.get_text() == "tutorial, step 30 of 30"
    return [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]


def test_loss_plot_of_a_short_run_claims_no_smoothing(tmp_path: Path, monkeypatch) -> None:
    rows = [{"step": s, "g_loss": 1.0, "d_loss": 1.2, "d_real": 0.6, "d_fake": 0.4} for s in (10, 20, 30)]
    labels = _legends(rows, tmp_path, monkeypatch)
    assert labels == ["Generator loss", "Discriminator loss", "D loss at equilibrium, 2 ln 2", "D(x), real",
                      "D(G(z)), generated", "D cannot tell, 0.5"]  # fmt: skip
    assert Image.open(tmp_path / "losses.png").size == (990, 715)  # 9 x 6.5 inches at 110 dpi
    long = [{**rows[0], "step": 100 * (i + 1)} for i in range(200)]  # 200 rows: smoothed over 4 rows, 400 steps
    assert _legends(long, tmp_path, monkeypatch)[0] == "Generator loss, mean of 4 rows (400 steps)"


def test_plot_skips_rows_without_the_numbers_it_draws(tmp_path: Path, monkeypatch) -> None:
    import pytest

    from mnistgan.errors import UserError
    from mnistgan.plots import plot_run

    (tmp_path / "stats.jsonl").write_text('{"step": 5}\n{"step": 10, "g_loss": "x"}\n')
    with pytest.raises(
        UserError, match=r"stats.jsonl has no rows to plot \(each needs g_loss, d_loss, d_real, d_fake\)"
    ):
        plot_run(tmp_path)
    good = {"g_loss": 1.0, "d_loss": 1.2, "d_real": 0.6, "d_fake": 0.4}
    rows = [json.dumps({"step": 20, **good}), '{"step": 15}', json.dumps({"step": 10, **good})]
    (tmp_path / "stats.jsonl").write_text("\n".join(rows) + "\n")
    drawn = []
    monkeypatch.setattr(
        "mnistgan.plots.plot_losses", lambda rows, path, title="": drawn.append([r["step"] for r in rows])
    )
    assert plot_run(tmp_path) == [tmp_path / "losses.png"]
    assert drawn == [[10, 20]]  # the incomplete row left out, the rest in step order
