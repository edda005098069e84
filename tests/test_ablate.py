"""The ablation machinery with a fake train and evaluation: resume, skip, table statistics, failures, processes."""

import json
from pathlib import Path

import numpy as np
import pytest

from mnistgan import ablate, ablation_results, config
from mnistgan.cli import main
from mnistgan.errors import NonFiniteError, UserError


def fake_train(spec: ablate.RunSpec) -> None:
    """Counts its calls in the run directory; 'bad' diverges."""
    run = Path(spec.run_dir)
    calls = run / "calls"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    if spec.preset == "bad":
        raise NonFiniteError("nan at step 3")


def fake_eval(spec: ablate.RunSpec) -> dict:
    """fd = 10 * seed, modes = 10, a known histogram."""
    hist = np.full(10, 0.1)
    hist[spec.seed % 10] += 0.05
    hist[(spec.seed + 1) % 10] -= 0.05
    keys = ["kid", "score", "digits_kl", "precision", "recall", "coverage"]
    return {"fd": 10.0 * spec.seed, "modes": 10, "digits_hist": hist.tolist(), **dict.fromkeys(keys, 0.5)}


@pytest.fixture
def presets(monkeypatch):
    monkeypatch.setitem(config.PRESETS, "other", {"lr_g": 1e-4})
    monkeypatch.setitem(config.PRESETS, "bad", {})
    return ["tutorial", "other"]


def _calls(out: Path) -> dict[str, int]:
    return {str(p.parent.relative_to(out)): int(p.read_text()) for p in sorted(out.glob("*/seed*/calls"))}


def test_ablate_skips_finished_runs_and_tabulates(tmp_path, presets):
    ref = np.full(10, 0.1)
    kw = dict(train_fn=fake_train, eval_fn=fake_eval, log=lambda s: None, cores=2)
    table, figure = ablate.run_ablation(presets, 3, 5, tmp_path, **kw)
    assert _calls(tmp_path) == {f"{p}/seed{k}": 1 for p in presets for k in range(3)}
    result = json.loads((tmp_path / "other/seed2/result.json").read_text())
    assert result["fd"] == 20.0 and result["steps"] == 5 and result["threads"] == 2
    # fd over seeds 0, 10, 20: mean 10, sample std 10.
    row = next(line for line in table.read_text().splitlines() if line.startswith("| other"))
    assert "| 10.00 ± 10.00 |" in row and "| 10.0 ± 0.0 |" in row
    assert figure.stat().st_size > 1000
    # Second invocation: nothing retrained. A deleted result is the only run redone; a partial run resumes.
    ablate.run_ablation(presets, 3, 5, tmp_path, **kw)
    assert set(_calls(tmp_path).values()) == {1}
    (tmp_path / "tutorial/seed1/result.json").unlink()
    ablate.run_ablation(presets, 3, 5, tmp_path, **kw)
    calls = _calls(tmp_path)
    assert calls.pop("tutorial/seed1") == 2 and set(calls.values()) == {1}
    # More seeds later: only the new ones run.
    ablate.run_ablation(["other"], 4, 5, tmp_path, **kw)
    assert _calls(tmp_path)["other/seed3"] == 1 and _calls(tmp_path)["other/seed0"] == 1
    ablation_results.plot_digit_shares(
        ablation_results.load_results(tmp_path, presets), tmp_path / "check.png", reference=ref
    )


def test_other_sample_count_rescores_without_retraining(tmp_path, presets):
    scored = []

    def counting_eval(spec):
        scored.append((spec.preset, spec.seed, spec.n_eval))
        return {**fake_eval(spec), "fd": float(spec.n_eval)}

    kw = dict(train_fn=fake_train, eval_fn=counting_eval, log=lambda s: None)
    ablate.run_ablation(["tutorial"], 2, 5, tmp_path, n_eval=500, **kw)
    before = json.loads((tmp_path / "tutorial/seed1/result.json").read_text())
    table, _ = ablate.run_ablation(["tutorial"], 2, 5, tmp_path, n_eval=800, **kw)
    after = json.loads((tmp_path / "tutorial/seed1/result.json").read_text())
    assert set(_calls(tmp_path).values()) == {1}  # trained once
    assert scored == [("tutorial", 0, 500), ("tutorial", 1, 500), ("tutorial", 0, 800), ("tutorial", 1, 800)]
    assert after["fd"] == 800.0 and after["n_eval"] == 800 and after["rescored_from"] == 500
    assert after["train_min"] == before["train_min"] and after["steps"] == 5
    assert "| 800.00 ± 0.00 |" in table.read_text()
    ablate.run_ablation(["tutorial"], 2, 5, tmp_path, n_eval=800, **kw)
    assert len(scored) == 4  # already scored with 800: nothing to do


def test_a_run_claimed_by_a_live_process_is_left_to_it(tmp_path, presets):
    """Two invocations on one folder share the runs: a live claim is skipped, a dead process's claim taken over."""
    import subprocess
    import sys

    kw = dict(train_fn=fake_train, eval_fn=fake_eval, log=lambda s: None)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for seed, pid in ((0, live.pid), (1, dead.pid)):
            (tmp_path / f"tutorial/seed{seed}").mkdir(parents=True)
            (tmp_path / f"tutorial/seed{seed}" / ablate.CLAIM).write_text(str(pid))
        table, _ = ablate.run_ablation(["tutorial"], 3, 5, tmp_path, **kw)
        assert _calls(tmp_path) == {"tutorial/seed1": 1, "tutorial/seed2": 1}  # seed 0 belongs to the live one
        assert (tmp_path / "tutorial/seed0" / ablate.CLAIM).read_text() == str(live.pid)
        assert not (tmp_path / "tutorial/seed1" / ablate.CLAIM).exists()  # released when done
        assert "| tutorial | 2 |" in table.read_text()
    finally:
        live.kill()
        live.wait()
    ablate.run_ablation(["tutorial"], 3, 5, tmp_path, **kw)  # its owner is gone: now it runs here
    assert _calls(tmp_path)["tutorial/seed0"] == 1


def test_ablate_refuses_other_step_counts_and_unknown_presets(tmp_path, presets):
    kw = dict(train_fn=fake_train, eval_fn=fake_eval, log=lambda s: None)
    ablate.run_ablation(["tutorial"], 1, 5, tmp_path, **kw)
    with pytest.raises(UserError, match="run of 5 steps, not 6"):
        ablate.run_ablation(["tutorial"], 1, 6, tmp_path, **kw)
    with pytest.raises(UserError, match="valid presets"):
        ablate.run_ablation(["nope"], 1, 5, tmp_path, **kw)


def test_diverged_run_is_recorded_not_retried(tmp_path, presets):
    kw = dict(train_fn=fake_train, eval_fn=fake_eval, log=lambda s: None)
    table, _ = ablate.run_ablation(["bad", "tutorial"], 2, 5, tmp_path, **kw)
    ablate.run_ablation(["bad"], 2, 5, tmp_path, **kw)
    assert _calls(tmp_path)["bad/seed0"] == 1
    assert "nan at step 3" in (tmp_path / "bad/seed0/result.json").read_text()
    assert "| bad | 0 (+2 diverged) | 5 | — |" in table.read_text()


def test_worker_processes(tmp_path, presets):
    table, _ = ablate.run_ablation(
        presets, 2, 5, tmp_path, jobs=2, cores=4, train_fn=fake_train, eval_fn=fake_eval, log=lambda s: None
    )
    assert set(_calls(tmp_path).values()) == {1} and len(_calls(tmp_path)) == 4
    assert json.loads((tmp_path / "tutorial/seed1/result.json").read_text())["threads"] == 2
    assert "| tutorial | 2 |" in table.read_text()


def test_cli_needs_steps_or_full(capsys):
    assert main(["ablate", "--presets", "tutorial", "--steps", "5", "--full"]) == 2
    assert "exactly one of --steps N and --full" in capsys.readouterr().err


def test_fixed_criteria_compare_with_the_best_other_unconditional_preset(presets, monkeypatch):
    monkeypatch.setitem(config.PRESETS, "labelled", {"conditional": True})

    def run(fd, precision, recall, modes=10, kl=0.005, minutes=9.0):
        return dict(fd=fd, precision=precision, recall=recall, modes=modes, digits_kl=kl, train_min=minutes)

    results = {
        "tutorial": [run(20.0, 0.9, 0.1, modes=3, kl=1.0)] * 2,  # best precision among the others: 0.9
        "other": [run(10.0, 0.5, 0.6), run(14.0, 0.5, 0.4)],  # best fd (12) and recall (0.5)
        "labelled": [run(1.0, 1.0, 1.0)],  # conditional: not a rival
        "labelled (9 steps)": [{**run(1.0, 1.0, 1.0), "preset": "labelled"}],  # nor at another step count
        "tutorial (70,000 steps)": [{**run(30.0, 0.92, 0.0), "preset": "tutorial"}],  # a rival under its label
        "bad": [run(11.0, 0.95, 0.55), run(11.0, 0.95, 0.55, kl=0.02, minutes=16.0)],
    }
    rows = {name: (measured, ok) for name, measured, ok in ablation_results.fixed_criteria(results, "bad")}
    assert rows["10 digits in every seed"] == ("modes [10, 10]", True)
    assert rows["KL <= 0.01 in every seed"] == ("KL 0.0050, 0.0200", False)
    assert rows["fd at least as good as the best other"] == ("11.000 vs 12.000 (other)", True)
    assert rows["precision at least as good as the best other"] == ("0.950 vs 0.920 (tutorial (70,000 steps))", True)
    assert rows["recall at least as good as the best other"] == ("0.550 vs 0.500 (other)", True)
    assert rows["at most 15 min a seed"] == ("16.0 min (slowest seed)", False)
