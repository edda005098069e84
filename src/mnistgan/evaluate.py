"""`mnistgan eval`: load what to evaluate (a run, a checkpoint, an array file, a folder of PNGs), check it, score it
beside the real-data reference row, print the table and write eval.json. A run on a 2-D mixture is scored by its
dataset's scorer (scorers.py: modes, high-quality share, reverse KL), never by the MNIST evaluator.

The reference row scores n held-out real images (a seeded subset of train[:50000], which the Parzen validation
split train[50000:51000] never overlaps) against the same test set, under the same protocol; it is computed once
per (evaluator, data, n, seed, metric) and cached.
"""

from __future__ import annotations

import json
import math
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistgan.data import cache_dir, load_split
from mnistgan.errors import UserError, warn
from mnistgan.files import atomic_write_text, unwritable_reason
from mnistgan.memory import check_fits
from mnistgan.metrics import CAVEAT, METRICS, evaluate, load_evaluator, parse_metrics
from mnistgan.metrics.reference import PROTOCOL_VERSION, Reference, array_digest, cache_key
from mnistgan.metrics.registry import check_sample_size, table_rows
from mnistgan.rundir import EVAL, MEMORIZATION_PNG, SNAPSHOT
from mnistgan.verdict import verdict

DEFAULT_N = 10_000  # the protocol: 10,000 samples against the 10,000 test images
REAL_POOL = 50_000  # the reference row draws from train[:50000]; train[50000:] holds the Parzen validation images
BYTES_PER_SAMPLE = 12 * 1024  # peak memory of the metrics per sample (pixels as float64 for the k-NN, features)


@dataclass
class Target:
    """Images to evaluate and where they came from."""

    images: np.ndarray  # uint8 (N, 28, 28)
    kind: str  # run, checkpoint, array, pngs, real
    source: str
    run_dir: Path | None = None  # eval.json and memorization.png go here for runs and checkpoints
    exclude_train: np.ndarray | None = None  # real rows: each image's own training index, skipped by memorization
    dataset: str | None = None  # runs and checkpoints: the dataset they were trained on (it chooses the scorer)
    data_dir: str | None = None


def to_uint8_images(array: np.ndarray, source: str = "images") -> np.ndarray:
    """uint8 0-255 or float 0-1 images of shape (N, 28, 28), (N, 784) or (N, 1, 28, 28) -> uint8 (N, 28, 28)."""
    a = np.asarray(array)
    valid = "(N, 28, 28), (N, 784) or (N, 1, 28, 28)"
    if a.ndim == 2 and a.shape[1] == 784 or a.ndim == 4 and a.shape[1:] == (1, 28, 28) or a.shape[1:] == (28, 28):
        a = a.reshape(len(a), 28, 28)
    else:
        raise UserError(f"{source}: images must have shape {valid}, got {a.shape}")
    if len(a) == 0:
        raise UserError(f"{source}: holds no images (shape {a.shape})")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "f":
        bad = int((~np.isfinite(a)).sum())
        if bad:
            raise UserError(f"{source}: {bad} NaN or infinite pixel values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 1:
            raise UserError(
                f"{source}: float images must lie in [0, 1], found values in [{lo:g}, {hi:g}] "
                "(store 0-255 images as uint8)"
            )
        return np.round(a * 255).astype(np.uint8)
    if a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise UserError(f"{source}: integer images must lie in 0-255, found {lo} to {hi}")
        return a.astype(np.uint8)
    raise UserError(f"{source}: images must be uint8 (0-255) or float (0-1), got dtype {a.dtype}")


def load_array_file(path: Path) -> np.ndarray:
    """The image array of an .npy file, or of an .npz (its `images` entry, or its only entry). The array's header
    is read first, so an array too big for memory is refused before it is inflated; pickled (object) arrays, torn
    and foreign files are one UserError."""
    path = Path(path)
    try:
        if path.suffix == ".npz" and path.is_file() and not zipfile.is_zipfile(path):
            raise UserError(f"{path}: not a complete .npz archive (truncated, or not a zip file)")
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith(".npy")]
                keys = [n[: -len(".npy")] for n in names]
                if "images" in keys:
                    member = "images.npy"
                elif len(names) == 1:
                    member = names[0]
                else:
                    found = ", ".join(keys) or "none"
                    raise UserError(f"{path}: no `images` array (found {found}); save images as `images`")
                with archive.open(member) as handle:
                    return _read_npy(handle, f"{path}[{member[:-4]}]")
        with open(path, "rb") as handle:
            return _read_npy(handle, str(path))
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - zipfile and numpy raise many kinds on a damaged file: all the file's
        raise UserError(f"cannot read {path}: {type(err).__name__}: {str(err)[:200]}") from None


def _read_npy(handle, name: str) -> np.ndarray:  # noqa: ANN001 - a binary file object
    try:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
    except Exception as err:  # noqa: BLE001 - numpy parses the header with ast/tokenize: any error means a bad file
        raise UserError(f"{name}: not a valid .npy array header ({type(err).__name__})") from None
    if dtype.hasobject:
        raise UserError(f"{name}: holds Python objects (dtype {dtype}), not pixel values; save uint8 or float images")
    check_fits(math.prod(shape) * dtype.itemsize * 2, f"{name} (shape {shape}, {dtype})", "evaluate fewer images")
    count = math.prod(shape)
    data = handle.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise UserError(f"{name}: truncated: shape {shape} needs {count * dtype.itemsize} bytes, found {len(data)}")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def load_png_folder(folder: Path) -> np.ndarray:
    """Grayscale 28x28 PNGs of a folder, in name order, as uint8 (N, 28, 28). Each file's size is checked from its
    header before its pixels are decoded."""
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise UserError(f"{folder}: no .png files (and no generator.safetensors): nothing to evaluate")
    check_fits(len(files) * 28 * 28 * 2, f"{len(files)} PNG files", "evaluate a smaller folder")
    images = []
    for path in files:
        try:
            with Image.open(path) as img:
                if img.size != (28, 28):
                    raise UserError(f"{path}: images must be 28x28 pixels, found {img.size[0]}x{img.size[1]}")
                images.append(np.asarray(img.convert("L"), np.uint8))
        except UserError:
            raise
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise UserError(f"cannot read {path}: {type(err).__name__}: {str(err)[:200]}") from None
    return np.stack(images)


def _take(images: np.ndarray, n: int | None, source: str) -> np.ndarray:
    if n is None:
        return images
    if n > len(images):
        raise UserError(f"{source} holds {len(images)} images, fewer than --n {n}")
    return images[:n]


def real_target(n: int | None, seed: int) -> Target:
    """n held-out real images: a seeded subset of train[:50000], each with its own index (for memorization)."""
    n = DEFAULT_N if n is None else n
    if n > REAL_POOL:
        raise UserError(f"--real draws from {REAL_POOL} training images; --n {n} is too many")
    train, _ = load_split("train")
    index = np.random.default_rng(seed).permutation(REAL_POOL)[:n]
    return Target(train[index], "real", f"train[:{REAL_POOL}], seed {seed}", exclude_train=index)


def load_target(target: Path, n: int | None = None, seed: int = 0) -> Target:
    """Resolve a run directory, generator checkpoint, .npz/.npy file or PNG folder into checked uint8 images."""
    target = Path(target)
    if not target.exists():
        raise UserError(f"{target} does not exist (pass a run directory, a .safetensors, .npz, .npy or PNG folder)")
    if target.is_dir() and (target / SNAPSHOT).is_file() or target.suffix == ".safetensors":
        from mnistgan.sample import generate, load_generator
        from mnistgan.scorers import scorer_for

        generator, config, step = load_generator(target)
        n = scorer_for(config.dataset, config.data_dir).protocol_n if n is None else n  # MNIST: DEFAULT_N
        check_fits(n * BYTES_PER_SAMPLE, f"evaluating {n} samples", "ask for fewer with --n")
        images = generate(generator, config, n, seed=seed)  # images, or points for a 2-D dataset
        kind = "run" if target.is_dir() else "checkpoint"
        run_dir = target if target.is_dir() else target.parent
        where = f"{target} (step {step}, seed {seed})"
        return Target(images, kind, where, run_dir, dataset=config.dataset, data_dir=config.data_dir)
    if target.is_dir():
        return Target(_take(load_png_folder(target), n, str(target)), "pngs", str(target))
    if target.suffix in (".npz", ".npy"):
        images = to_uint8_images(load_array_file(target), str(target))
        return Target(_take(images, n, str(target)), "array", str(target))
    raise UserError(
        f"{target}: cannot evaluate a {target.suffix or 'suffix-less'} file (use .npz, .npy or .safetensors)"
    )


def _scorer_record(tgt: Target, scorer, seed: int, t0: float) -> dict:  # noqa: ANN001 - a scorers.Scorer
    """eval.json of a run scored by a dataset scorer: the model row and the real row (as many test samples)."""
    n = len(tgt.images)
    real, _ = load_split("test", tgt.dataset)
    if n > len(real):
        raise UserError(f"--n {n}: the real row draws from {len(real)} test samples of {tgt.dataset}; ask for fewer")
    model = {"n": n, "seed": seed, "metrics": scorer.score(tgt.images, tgt.dataset), "target": tgt.source}
    model["kind"] = tgt.kind
    return {
        "protocol": f"{n} samples of {tgt.dataset} scored by the {scorer.name} protocol ({scorer.about})",
        "scorer": scorer.name,
        "model": model,
        "real": {"n": n, "source": f"{tgt.dataset} test split", "metrics": scorer.score(real[:n], tgt.dataset)},
        "wall_seconds": round(time.perf_counter() - t0, 2),
    }


def _write_record(record: dict, tgt: Target, target: Path, json_out: Path | None) -> dict:
    """Write eval.json into a run directory (and to --json), noting what could not be written."""
    outputs = [Path(json_out)] if json_out else []
    if tgt.kind == "run" and not unwritable_reason(Path(target)):
        outputs.append(Path(target) / EVAL)
    record["written"], record["not_written"] = [], []
    for path in outputs:
        try:
            atomic_write_text(path, json.dumps(record, indent=2) + "\n")
            record["written"].append(str(path))
        except UserError as err:
            if path == Path(json_out or ""):
                raise
            record["not_written"].append(str(err))
    return record


MIXTURE_ROWS = (  # (key, label, format, meaning) of the mixture table
    ("modes_covered", "modes covered", "{}", "modes with at least one high-quality sample nearest to them"),
    ("hq_share", "high quality", "{:.1%}", "share of samples within 3 std of their nearest mode"),
    ("reverse_kl", "reverse KL", "{:.4f}", "KL(high-quality samples over modes || uniform), lower is better"),
)


def format_report(record: dict) -> str:
    """What `mnistgan eval` prints after the model line: the protocol line and the table (either scorer's)."""
    if record.get("scorer", "mnist-evaluator") == "mnist-evaluator":
        head = f"{record['protocol']}; evaluator {record['evaluator_sha256'][:12]}"
        return head + "\n" + format_table(record["model"], record["real"])
    rows = [["metric", "model", f"real ({record['real']['source']})", "meaning"]]
    for key, label, fmt, meaning in MIXTURE_ROWS:
        value = record["model"]["metrics"][key]
        rows.append([label, fmt.format(value), fmt.format(record["real"]["metrics"][key]), meaning])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return record["protocol"] + "\n" + "\n".join(out)


def reference_row(names: list[str], n: int, seed: int, evaluator, reference: Reference) -> dict:  # noqa: ANN001
    """The real-data row (held-out training images vs the test set), each metric cached on disk by its inputs."""
    folder = cache_dir() / "eval"
    train, _ = load_split("train")
    values, seconds, missing, paths = {}, {}, [], {}
    for name in names:
        fields = {"row": "real", "metric": name, "protocol": PROTOCOL_VERSION, "n": n, "seed": seed}
        fields |= {
            "evaluator": evaluator.sha256,
            "train": array_digest(train),
            "test": array_digest(reference.test_images),
        }
        paths[name] = folder / f"real-{name}-{cache_key(fields)[:24]}.json"
        if paths[name].is_file():
            try:
                cached = json.loads(paths[name].read_text())
                if isinstance(cached, dict) and set(cached) == set(METRICS[name].keys):
                    values.update(cached)
                    continue
                warn(f"cache file {paths[name]} does not hold {name}'s values; recomputing it")
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
                warn(f"cache file {paths[name]} is unreadable ({type(err).__name__}); recomputing it")
        missing.append(name)
    if missing:
        real = real_target(n, seed)
        result = evaluate(real.images, missing, seed, evaluator, reference, real.exclude_train)
        for name in missing:
            before = {k: result["metrics"][k] for k in METRICS[name].keys}
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_text(paths[name], json.dumps(before))
            except (OSError, UserError) as err:  # a read-only or full cache: the row is just not cached
                warn(f"could not cache the real row's {name} in {folder} ({err})")
            values.update(before)
        seconds = result["seconds"]
    return {"n": n, "seed": seed, "source": f"train[:{REAL_POOL}] subset", "metrics": values, "seconds": seconds}


def _cell(values: dict, key: str, std: str | None, fmt: str) -> str:
    if key not in values:
        return ""
    if values[key] is None:  # undefined for this sample (KL when no sample reads as a digit)
        return "n/a"
    text = fmt.format(values[key])
    return text + (" ± " + fmt.format(values[std]) if std else "")


def format_table(model: dict | None, real: dict) -> str:
    """The model's metrics beside the real-data reference row, one metric per line."""
    header = ["metric", "model", f"real ({real['n']:,} held-out)", "meaning"]
    header = header if model else [header[0], *header[2:]]
    lines = []
    for row in table_rows():
        key, std, fmt = row.key, row.std, row.fmt
        if key not in real["metrics"] and (model is None or key not in model["metrics"]):
            continue
        cells = [row.label] + ([_cell(model["metrics"], key, std, fmt)] if model else [])
        lines.append(cells + [_cell(real["metrics"], key, std, fmt), row.note])
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *lines]]
    out.insert(1, "  ".join("-" * w for w in widths))
    for name, row in ([("model", model)] if model else []) + [("real", real)]:
        if "digits_hist" in row["metrics"]:
            hist = " ".join(f"{d}:{100 * v:.1f}" for d, v in enumerate(row["metrics"]["digits_hist"]))
            rest = row["metrics"].get("unreadable")
            out.append(f"digits % ({name}): {hist}" + (f"  not a digit:{100 * rest:.1f}" if rest is not None else ""))
    if "parzen" in real["metrics"]:
        out.append(f"parzen caveat: {CAVEAT}")
    return "\n".join(out)


def scored_by(target: Path | None, dataset: str | None) -> str | None:
    """What scores the target: `dataset`'s scorer when given, else that of the dataset the run (or snapshot) was
    trained on, else the MNIST evaluator (arrays and PNGs are MNIST digits unless --dataset says otherwise)."""
    from mnistgan.data import DATASETS

    if dataset is None and target is not None:
        target = Path(target)
        if target.is_dir() and (target / SNAPSHOT).is_file() or target.suffix == ".safetensors" and target.is_file():
            from mnistgan.checkpoint import find_snapshot, load_snapshot

            config = load_snapshot(find_snapshot(target))[1]
            dataset = config.dataset if config.data_dir is None else None
    if dataset is not None and dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
    return DATASETS[dataset or "mnist"].scored_by


def _stacked_eval(target, real, n, metrics, seed, json_out) -> dict:  # noqa: ANN001 - run_eval's arguments
    from mnistgan.stacked_eval import run_stacked_eval

    return run_stacked_eval(target, real, n, seed, json_out)


SCORERS = {"stacked-mnist-evaluator": _stacked_eval}  # DatasetSpec.scored_by -> its eval; others: the MNIST metrics


def run_eval(
    target: Path | None,
    real: bool = False,
    n: int | None = None,
    metrics: str | list[str] | None = None,
    seed: int = 0,
    json_out: Path | None = None,
    dataset: str | None = None,
) -> dict:
    """Evaluate a target (or only the real-data row with real=True); return the eval.json record. A target whose
    dataset names its own scorer (DatasetSpec.scored_by in SCORERS) is scored by it instead of the MNIST metrics."""
    scorer = SCORERS.get(scored_by(target, dataset))
    if scorer is not None:
        return scorer(target, real, n, metrics, seed, json_out)
    t0 = time.perf_counter()
    names = parse_metrics(metrics)
    if target is None and not real:
        raise UserError("give a TARGET (run directory, checkpoint, .npz/.npy, PNG folder) or --real")
    if json_out is not None and (reason := unwritable_reason(Path(json_out).absolute().parent)):
        raise UserError(f"--json {json_out}: {reason}")  # before any slow work
    tgt = load_target(target, n, seed) if target is not None else None
    if tgt is not None and tgt.dataset is not None:
        from mnistgan.scorers import scorer_for

        scorer = scorer_for(tgt.dataset, tgt.data_dir)
        if scorer.name != "mnist-evaluator":  # a 2-D run: its own scorer, no evaluator, no image metrics
            if metrics not in (None, "all"):
                raise UserError(f"--metrics applies to image runs; {target} is scored by the {scorer.name} protocol")
            return _write_record(_scorer_record(tgt, scorer, seed, t0), tgt, target, json_out)
    check_sample_size(names, len(tgt.images) if tgt else DEFAULT_N if n is None else n)  # before any slow work
    evaluator = load_evaluator()
    reference = Reference(evaluator)
    model = None
    not_written = []
    if tgt is not None:
        figure_dir = tgt.run_dir or (Path(json_out).parent if json_out else None)
        if figure_dir is not None and (reason := unwritable_reason(figure_dir)):
            not_written.append(f"{figure_dir}: {reason}")  # a read-only run is still scored; its files are not
            figure_dir = None
        model = evaluate(tgt.images, names, seed, evaluator, reference, tgt.exclude_train, figure_dir)
        model |= {"target": tgt.source, "kind": tgt.kind}
        n_real = len(tgt.images)
    else:
        n_real = DEFAULT_N if n is None else n
    ref_row = reference_row(names, n_real, seed, evaluator, reference)
    if model is not None:
        model["verdict"] = verdict(model["metrics"], ref_row["metrics"])
    record = {
        "protocol": f"{n_real} images vs the {len(reference.test_images)} MNIST test images"
        + (f" (real row: {n_real} held-out training images, the same n)" if tgt is not None else ""),
        "evaluator_sha256": evaluator.sha256,
        "model": model,
        "real": ref_row,
        "parzen_caveat": CAVEAT,
        "wall_seconds": round(time.perf_counter() - t0, 2),
    }
    outputs = [Path(json_out)] if json_out else []
    if tgt is not None and tgt.kind == "run" and not not_written:
        outputs.append(Path(target) / EVAL)
    written = []
    for path in outputs:
        try:
            atomic_write_text(path, json.dumps(record, indent=2) + "\n")
            written.append(str(path))
        except UserError as err:
            if path == Path(json_out or ""):
                raise
            not_written.append(str(err))
    record["written"] = written
    record["not_written"] = not_written
    if model is not None and "memorization" in names and figure_dir is not None:
        record["written"].append(str(Path(figure_dir) / MEMORIZATION_PNG))
    return record
