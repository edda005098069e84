"""`mnistgan eval`: loading and checking targets, clear one-line errors, eval.json, the cached reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnistgan.cli import main
from mnistgan.data import load_split
from mnistgan.errors import UserError
from mnistgan.evaluate import load_target, to_uint8_images


def some_images(n: int = 12) -> np.ndarray:
    return np.array(load_split("test")[0][:n])


def test_every_accepted_layout_gives_the_same_uint8_images() -> None:
    u8 = some_images()
    floats = u8.astype(np.float32) / 255
    for variant in [u8, u8.reshape(12, 784), u8.reshape(12, 1, 28, 28), floats, floats.reshape(12, 784)]:
        np.testing.assert_array_equal(to_uint8_images(variant), u8)
    np.testing.assert_array_equal(to_uint8_images(u8.astype(np.int64)), u8)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.zeros((3, 28, 27), np.uint8),
            r"must have shape \(N, 28, 28\), \(N, 784\) or \(N, 1, 28, 28\), got \(3, 28, 27\)",
        ),
        (np.zeros((0, 28, 28), np.uint8), "holds no images"),
        (np.full((2, 784), np.nan, np.float32), "1568 NaN or infinite pixel values"),
        (np.array([[np.inf] + [0.0] * 783]), "1 NaN or infinite"),
        (np.full((2, 28, 28), 255.0), r"float images must lie in \[0, 1\], found values in \[255, 255\]"),
        (np.full((2, 28, 28), 300), "integer images must lie in 0-255, found 300 to 300"),
    ],
)
def test_bad_arrays_are_user_errors(array: np.ndarray, message: str) -> None:
    with pytest.raises(UserError, match=message):
        to_uint8_images(array, "x.npz")


def test_files_and_folders_load(tmp_path: Path) -> None:
    u8 = some_images()
    np.savez(tmp_path / "a.npz", images=u8.astype(np.float64) / 255)
    np.save(tmp_path / "b.npy", u8.reshape(12, 1, 28, 28))
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, img in enumerate(u8):
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    for target in [tmp_path / "a.npz", tmp_path / "b.npy", folder]:
        np.testing.assert_array_equal(load_target(target).images, u8)
    assert len(load_target(tmp_path / "a.npz", n=5).images) == 5
    with pytest.raises(UserError, match="holds 12 images, fewer than --n 13"):
        load_target(folder, n=13)


def test_bad_targets_are_user_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .png files"):
        load_target(tmp_path / "empty")
    big = tmp_path / "big"
    big.mkdir()
    Image.new("L", (32, 32)).save(big / "x.png")
    with pytest.raises(UserError, match="must be 28x28 pixels, found 32x32"):
        load_target(big)
    np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(UserError, match=r"no `images` array \(found a, b\)"):
        load_target(tmp_path / "two.npz")
    with pytest.raises(UserError, match="does not exist"):
        load_target(tmp_path / "missing.npz")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(UserError, match="cannot evaluate a .txt file"):
        load_target(tmp_path / "x.txt")


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--metrics", "fd,fid"],
            "unknown metric 'fid'; valid metrics: fd, kid, score, digits, pr, parzen, memorization",
        ),
        (
            ["--metrics", "score"],
            "metric 'score' needs at least 10 samples (the score is averaged over 10 splits); got 5",
        ),
        (["--metrics", "pr", "--n", "3"], "metric 'pr' needs at least 4 samples"),
        (["--real"], "give a TARGET"),
    ],
)
def test_cli_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list, message: str
) -> None:
    np.savez(tmp_path / "five.npz", images=some_images(5))
    code, out, err = run_cli(["eval", str(tmp_path / "five.npz"), *args], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("mnistgan eval: error: ") and message in err


def test_cli_eval_without_target_or_real(capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["eval"], capsys)
    assert code == 2 and "give a TARGET" in err and err.count("\n") == 1


def test_cli_writes_json_and_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    images = some_images(40)
    np.savez(tmp_path / "imgs.npz", images=images)
    code, out, err = run_cli(
        ["eval", str(tmp_path / "imgs.npz"), "--metrics", "digits", "--json", str(tmp_path / "r.json")], capsys
    )
    assert code == 0, err
    record = json.loads((tmp_path / "r.json").read_text())
    labels = load_split("test")[1][:40]
    expected = np.bincount(labels, minlength=10) / 40  # the evaluator is right on these 40 test images
    np.testing.assert_allclose(record["model"]["metrics"]["digits_hist"], expected)
    assert record["real"]["n"] == 40 and record["real"]["metrics"]["modes"] >= 9
    assert "modes" in out and "real (40 held-out)  meaning" in out and "verdict: " in out
    assert "40 images vs the 10000 MNIST test images (real row: 40 held-out training images, the same n)" in out


def test_list_metrics_says_what_each_measures(capsys: pytest.CaptureFixture) -> None:
    from mnistgan.metrics import METRICS

    code, out, _ = run_cli(["eval", "--list-metrics"], capsys)
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == list(METRICS)
    assert "Frechet distance" in out and "(needs at least 4)" in out
