"""The tutorial notebook's two editions: the teacher's runs top to bottom and computes the right numbers; the
student's is generated from it, runs up to its first blank and stops there, and gives no solution away.

Executes a temp copy of notebooks/gan_tutorial.ipynb on a kernel of this venv (nbclient) with STEPS training steps
(MNISTGAN_NOTEBOOK_STEPS) instead of 5,000, and a tiny run standing in for the full `make train` run so the "show
the full run" cells run too, then reads back the `results` dict the notebook fills and checks its numbers against
closed forms and invariants.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from mnistgan.config import preset_config
from mnistgan.train import train

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "notebooks" / "build.py"


def _build_module():
    spec = importlib.util.spec_from_file_location("notebook_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_module()
STEPS = 1_000  # the notebook's short run and its remedy run, instead of 5,000 (keeps the test near a minute)


def _outputs_text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed or displayed as text (streams, plain text and Markdown outputs)."""
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", ""))
        parts += [o.get("data", {}).get(k, "") for k in ("text/plain", "text/markdown")]
    return "\n".join(parts)


def _setup_cell(work: Path) -> str:
    setup = f"import os\nos.environ['MNISTGAN_CACHE'] = {str(work / 'cache')!r}  # the evaluator's reference statistics"
    return setup + f"\nos.environ['MNISTGAN_NOTEBOOK_STEPS'] = '{STEPS}'"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, dict]:
    """The executed notebook and its `results` dict."""
    work = tmp_path_factory.mktemp("notebook")
    full_run = work / "full"  # stands in for the 70,000-step run of `make train`
    train(preset_config("tutorial", steps=200, log_every=20, snapshot_every=100, device="cpu"), full_run, quiet=True)
    shutil.copy(build.NOTEBOOK, work / "gan_tutorial.ipynb")
    notebook = nbformat.read(work / "gan_tutorial.ipynb", as_version=4)
    setup = _setup_cell(work) + f"\nos.environ['MNISTGAN_TUTORIAL_RUN'] = {str(full_run)!r}"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(setup))
    notebook.cells.append(nbformat.v4.new_code_cell("print('RESULTS=' + json.dumps(results, default=float))"))
    build.execute(notebook, cwd=work, timeout=600)
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.output_type == "stream")
    notebook.cells = notebook.cells[1:-1]  # without the cells this test added
    return notebook, json.loads(text.split("RESULTS=", 1)[1])


def test_committed_notebook_is_stripped() -> None:
    """Outputs stay out of git (the rendered copy lives in docs/)."""
    assert build.is_stripped(nbformat.read(build.NOTEBOOK, as_version=4))


def test_every_cell_ran_without_error(executed) -> None:
    notebook, _ = executed
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]["ename"] + ": " + errors[0]["evalue"] if errors else ""
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert figures >= 12  # diagram, digits, loss curves, 2 loss plots, sample, grids, strips, 2 digits.png, bars, ...


def test_outputs_show_no_warning_and_no_absolute_path(executed) -> None:
    """The rendered copy is read by students: no stderr (warnings), and no path of the machine that ran it."""
    notebook, _ = executed
    code = [c for c in notebook.cells if c.cell_type == "code"]
    stderr = [o["text"] for c in code for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr[0]
    text = "\n".join(_outputs_text(c) for c in code)
    for root in ("/tmp", "/home", "/work", "/root", str(ROOT)):
        assert root not in text, root


def test_glorot_and_zero_biases(executed) -> None:
    _, results = executed
    assert results["glorot_worst_z"] < 5.0  # sample std within 5 standard errors of sqrt(2/(fan_in+fan_out))
    assert results["biases_all_zero"] is True
    assert results["distinct_grads_constant"] == 1  # no symmetry breaking: every hidden unit gets one gradient
    assert results["distinct_grads_glorot"] > 200  # random weights break it (dead ReLUs may share a zero row)


def test_filled_blanks_match_the_package(executed) -> None:
    """The teacher's solutions to the blanks: the same networks, the same loss as the package's."""
    _, results = executed
    assert results["own_G_max_diff"] < 1e-6 and results["own_D_max_diff"] < 1e-6
    assert results["own_d_loss_rel_err"] < 1e-9


def test_parameter_counts_and_loss_cases(executed) -> None:
    _, results = executed
    assert results["params_G"] == 100 * 256 + 256 + 256 * 784 + 784
    assert results["params_D"] == 784 * 256 + 256 + 256 + 1
    assert results["loss_real image, detected as real"] == pytest.approx(-math.log(0.99), rel=1e-9)
    assert results["loss_real image, detected as generated"] == pytest.approx(-math.log(0.01), rel=1e-9)
    assert results["loss_generated image, detected as generated"] == pytest.approx(-math.log(0.99), rel=1e-9)
    assert results["loss_generated image, taken for real"] == pytest.approx(-math.log(0.01), rel=1e-9)
    grads = results["grad_at_D_0.01"]  # |d/dlogit| of -log D is 1 - D, of log(1 - D) is D
    assert grads["nonsat"] == pytest.approx(0.99, abs=2e-3) and grads["sat"] == pytest.approx(0.01, abs=2e-3)


def test_separate_optimizers_and_short_run(executed) -> None:
    _, results = executed
    assert results["G_moved_by_D_step"] == 0.0 and results["D_moved_by_G_step"] == 0.0
    run = results["short_run"]
    assert run["all_finite"] is True
    assert 0.002 < run["d_loss"] < 2 * math.log(2) + 0.5  # D ahead (0.033 measured) but not at 0; not diverged
    assert 0.3 < run["g_loss"] < 10.0
    assert run["d_real"] > run["d_fake"]  # D still tells real from generated after a short run


def test_evaluation_rows(executed) -> None:
    """Section 9: real images cover all ten digits; every generator scores worse than real images."""
    _, results = executed
    rows = dict(results["eval"])  # a copy: the fixture is shared
    real = rows.pop("real images (held out)")
    assert real["modes"] == 10 and real["score"] > 9.0 and real["digits_kl"] < 0.01
    assert len(rows) == 2  # the notebook's run and the stand-in pre-trained run
    for name, row in rows.items():
        assert 0 <= row["modes"] <= 10, name
        assert row["fd"] > real["fd"] and row["score"] < real["score"], name


def test_in_training_digits_and_remedy(executed) -> None:
    """Section 9: digits.png's last row is a distribution; the remedy run was scored like the tutorial's."""
    _, results = executed
    # the largest of ten shares that sum to the readable share (a short run may draw no digit yet)
    assert 0.0 <= results["in_training_top_share"] <= 1.0 - results["in_training_unreadable"] + 1e-9
    assert 0.0 <= results["remedy"]["unreadable"] <= 1.0
    assert (
        0 <= results["remedy"]["modes"] <= 10
        and results["remedy"]["fd"] > results["eval"]["real images (held out)"]["fd"]
    )


def test_summary_tables_show_the_results(executed) -> None:
    """Section 10: the reproduce table's values are the notebook's own numbers, and a short run is not judged."""
    notebook, results = executed
    table = "".join(o["data"].get("text/markdown", "") for o in notebook.cells[-1].outputs if "data" in o)
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in table.splitlines()[2:]}
    flat = _notebook_module().flat_results(results)
    for key, (what, _, _) in _notebook_module().TARGETS.items():
        assert float(rows[what][1].replace(",", "")) == pytest.approx(flat[key], rel=1e-3), key
        assert rows[what][3].startswith(f"not judged ({STEPS:,} steps"), key


def _notebook_module():
    from mnistgan import notebook

    return notebook


def test_shipped_conditional_generator_draws_the_digit_asked_for(executed) -> None:
    """Section 9: the evaluator reads the asked-for digit far more often than chance (10%)."""
    _, results = executed
    assert 0.5 < results["conditional_hit_rate"] <= 1.0


def test_student_edition_is_generated_and_gives_nothing_away() -> None:
    """gan_tutorial_student.ipynb is the student edition of the committed teacher's edition: every solution is a
    blank, every answer a prompt, and no solution text is left."""
    assert build.main(["check"]) == 0
    teacher = nbformat.read(build.NOTEBOOK, as_version=4)
    student = nbformat.read(build.STUDENT, as_version=4)
    n_code, n_prose = build.count_blanks(teacher)
    assert (n_code, n_prose) == (7, 8)  # the tutorial's blanks and questions (notebooks/build.py lists the markers)
    text = "\n".join(c.source for c in student.cells)
    assert text.count("raise NotImplementedError(") == n_code and text.count("*Your answer:* ...") == n_prose
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN ANSWER", "BEGIN TEACHER", "Teacher's edition"):
        assert marker not in text, marker
    for solution in (
        "(2.0 / (fan_in + fan_out)) ** 0.5",
        "torch.log(1 - d_fake)",
        "Adam(G.parameters()",
        'REMEDY = "feature-matching"',
        "Nothing in the objective asks for variety",
    ):
        assert solution in "\n".join(c.source for c in teacher.cells) and solution not in text, solution


def test_student_edition_blank_replaces_solution_at_its_indentation() -> None:
    """The transformation on a made-up notebook: a code block, an answer, teacher-only and student-only text."""
    source = nbformat.v4.new_notebook()
    source.cells = [
        nbformat.v4.new_code_cell("def f():\n    # BEGIN SOLUTION: the hint\n    return 1\n    # END SOLUTION\n\nf()"),
        nbformat.v4.new_markdown_cell("Q?\n<!-- BEGIN ANSWER -->\nA.\n<!-- END ANSWER -->"),
        nbformat.v4.new_markdown_cell("<!-- BEGIN TEACHER -->\nT\n<!-- END TEACHER -->\n<!-- STUDENT\nS\n-->\nboth"),
    ]
    student = build.student_edition(source)
    assert student.cells[0].source == (
        "def f():\n    # Blank: the hint\n    raise NotImplementedError('blank: the hint')\n\nf()"
    )
    assert student.cells[1].source == "Q?\n\n*Your answer:* ..."
    assert student.cells[2].source == "S\nboth"
    assert source.cells[0].source.count("return 1") == 1  # the source is not changed


def test_student_edition_runs_up_to_its_first_blank(tmp_path: Path) -> None:
    """Every cell before the first blank runs without error; the blank raises NotImplementedError."""
    student = nbformat.read(build.STUDENT, as_version=4)
    first = next(i for i, c in enumerate(student.cells) if "raise NotImplementedError(" in c.source)
    student.cells = [nbformat.v4.new_code_cell(_setup_cell(tmp_path)), *student.cells[: first + 1]]
    with pytest.raises(CellExecutionError) as error:
        build.execute(student, cwd=tmp_path, timeout=300)
    assert error.value.ename == "NotImplementedError" and "blank: " in error.value.evalue
    code = [c for c in student.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)] == [len(code) - 1]
