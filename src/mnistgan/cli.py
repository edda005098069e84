"""The `mnistgan` command: argparse subcommands that parse, build a config and call the library.

Errors a user can cause (UserError) print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from mnistgan import __version__
from mnistgan.config import PRESET_ABOUT, PRESETS, RESUME_MUTABLE, TrainConfig, field_docs, load_config, preset_config
from mnistgan.errors import Interrupted, NonFiniteError, UserError
from mnistgan.rundir import CONFIG


def _int_at_least(minimum: int, what: str):  # noqa: ANN202 - returns an argparse type function
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonneg_int = _int_at_least(0, "an integer >= 0")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _number(kind: type):  # noqa: ANN202 - returns an argparse type function
    """An argparse type for int or float flags: the value's range is checked by TrainConfig.validate."""

    def parse(text: str) -> int | float:
        try:
            return kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    return parse


# The config fields `train` takes as flags: every TrainConfig field but these (preset is its own flag).
NOT_FLAGS = ("preset", "extra")


def train_fields() -> list:
    """TrainConfig's fields that are `train` flags (config.field_docs: type, default, help, group)."""
    return [doc for doc in field_docs() if doc.name not in NOT_FLAGS]


def flag_of(field: str) -> str:
    """--lr-g for lr_g."""
    return "--" + field.replace("_", "-")


def add_train(sub: argparse._SubParsersAction) -> None:
    """`mnistgan train`."""
    presets = "\n".join(f"  {name:20s} {PRESET_ABOUT[name]}, {preset_config(name).steps:,} steps" for name in PRESETS)
    examples = """examples:
  mnistgan train --steps 5000 --out runs/short          the tutorial, shorter
  mnistgan train --preset conv-clusters --out runs/cc   the recommended preset against mode collapse
  mnistgan train --resume runs/short --steps 8000       continue a run, further than it was going
  mnistgan train --preset r3gan --dry-run               print the resolved config and exit"""
    p = sub.add_parser(
        "train",
        help="train a GAN and write its run directory",
        description="Train a GAN: a preset, then any flag to change one of its values.",
        epilog=f"presets (--preset NAME; each flag below overrides one of its values):\n{presets}\n\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--preset", default=None, help="a preset from the list below (default: tutorial)")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for doc in train_fields():  # one flag per config field, grouped by its section, its comment as help
        group = groups.setdefault(doc.section, p.add_argument_group(doc.section or None))
        text = f"{doc.help} (default: {doc.default})".replace("%", "%%")  # argparse formats help with %
        if doc.kind == "bool":
            group.add_argument(flag_of(doc.name), dest=doc.name, action=argparse.BooleanOptionalAction, help=text)
        else:
            kind = {"int": _number(int), "float": _number(float)}.get(doc.kind, str)
            group.add_argument(flag_of(doc.name), dest=doc.name, type=kind, default=None, help=text)
    p.add_argument("--out", type=Path, default=None, help="run directory (default: runs/<preset>-seed<seed>)")
    p.add_argument("--resume", type=Path, default=None, metavar="DIR", help="continue the run in DIR to its steps")
    p.add_argument("--overwrite", action="store_true", help="replace the run --out already holds (its files only)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar or loss lines")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Resolve the config (a new run's, or the resumed run's own with the flags that may change), then train."""
    overrides = {doc.name: getattr(args, doc.name) for doc in train_fields()}
    if overrides["data_dir"] is not None:
        overrides["data_dir"] = str(Path(overrides["data_dir"]).absolute())  # resumable from any directory
    if args.resume is not None:
        config = _resume_config(args, overrides)
    else:
        config = preset_config(args.preset or "tutorial", **overrides)
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    from mnistgan.train import train

    if args.resume is not None:
        out = train(config, args.resume, resume=True, quiet=args.quiet)
    else:
        out_dir = args.out or Path("runs") / f"{config.preset}-seed{config.seed}"
        out = train(config, out_dir, quiet=args.quiet, overwrite=args.overwrite)
    print(f"run directory: {out}")
    return 0


def _resume_config(args: argparse.Namespace, overrides: dict) -> TrainConfig:
    """The resumed run's saved config with the given flags that may change on resume; a flag that may not change
    (anything that defines the run) is refused by name, unless it repeats the run's own value."""
    if args.overwrite:
        raise UserError("--resume continues a run and --overwrite replaces it: give one")
    if args.out is not None and Path(args.out).absolute() != Path(args.resume).absolute():
        raise UserError(f"--out cannot be used with --resume: the run stays in {args.resume}")
    saved = load_config(Path(args.resume) / CONFIG)
    flags = {doc.name: flag_of(doc.name) for doc in train_fields()} | {"preset": "--preset"}
    given = {k: v for k, v in overrides.items() if v is not None} | ({"preset": args.preset} if args.preset else {})
    for field, value in given.items():
        if field not in RESUME_MUTABLE and value != getattr(saved, field):
            raise UserError(
                f"{flags[field]} cannot change when resuming (this run has {field} = {getattr(saved, field)!r}); "
                f"start a new run with --out to train with {flags[field]} {value}"
            )
    try:
        return dataclasses.replace(saved, **{k: v for k, v in given.items() if k in RESUME_MUTABLE}).validate()
    except UserError as err:
        raise UserError(f"{Path(args.resume) / CONFIG}: {err}") from None


def add_sample(sub: argparse._SubParsersAction) -> None:
    """`mnistgan sample`."""
    p = sub.add_parser("sample", help="draw images from a trained generator")
    p.add_argument("target", nargs="?", type=Path, default=None, help="run directory or generator.safetensors")
    shipped = "the generator shipped in the package (the conditional one with --digit)"
    p.add_argument("--pretrained", action="store_true", help=shipped)
    p.add_argument("--n", type=_positive_int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="noise seed (default 0)")
    p.add_argument("--grid", type=Path, default=None, help="write a PNG grid here")
    p.add_argument("--npz", type=Path, default=None, help="write uint8 images (N, 28, 28) as `images` here")
    p.add_argument("--nrow", type=_positive_int, default=None, help="grid columns (default: square)")
    p.add_argument("--digit", type=int, default=None, help="conditional runs: draw only this digit (0-9)")
    trunc = "scale the noise by PSI (default 1): below 1, cleaner and less varied (benchmarks/truncation.py)"
    p.add_argument("--truncation", type=_positive_float, default=1.0, metavar="PSI", help=trunc)
    p.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    """Generate images and write a grid and/or an npz."""
    import math

    import numpy as np

    from mnistgan.files import atomic_write_buffered, unwritable_reason
    from mnistgan.memory import check_fits
    from mnistgan.sample import generate, load_generator, make_grid, save_png

    if args.grid is None and args.npz is None:
        raise UserError("sample: give --grid out.png and/or --npz out.npz")
    for flag, path in (("--grid", args.grid), ("--npz", args.npz)):
        if path is not None and (reason := unwritable_reason(path.absolute().parent)):
            raise UserError(f"{flag} {path}: {reason}")  # before any work
    per_image = 784 * 3 + (30 * 30 * 4 * 3 if args.grid is not None else 0)  # images, chunks, scaled grid
    check_fits(args.n * per_image, f"--n {args.n} images", "ask for fewer with --n")
    if (args.target is None) == (not args.pretrained):
        raise UserError("sample: give a TARGET run directory or --pretrained (not both)")
    if args.pretrained:
        from mnistgan.pretrained import pretrained_run

        args.target = pretrained_run("conditional" if args.digit is not None else "unconditional")
    generator, config, _ = load_generator(args.target)
    labels = None
    if args.digit is not None:
        from mnistgan.conditional import ConditionalGenerator, digit_labels

        if not isinstance(generator, ConditionalGenerator) or config.clusters:
            raise UserError(f"--digit needs a digit-conditional generator; {args.target} is not one")
        labels = digit_labels(args.digit, args.n)
    images = generate(generator, config, args.n, seed=args.seed, labels=labels, truncation=args.truncation)
    points = images.ndim == 2  # a 2-D dataset: (n, 2) float32 points, drawn as a scatter over the real ones
    if args.grid is not None and points:
        from mnistgan.data import load_split
        from mnistgan.mixture_plots import draw_frame
        from mnistgan.mixtures import MIXTURES

        real, _ = load_split("test", config.dataset)
        draw_frame(args.grid, images, real[: args.n], MIXTURES[config.dataset], title=f"{config.preset}, {args.n}")
        print(f"wrote {args.grid}")
    elif args.grid is not None:
        nrow = args.nrow or math.ceil(math.sqrt(args.n))
        save_png(make_grid(images, nrow=nrow), args.grid, scale=2)
        print(f"wrote {args.grid}")
    if args.npz is not None:
        key = "points" if points else "images"
        atomic_write_buffered(args.npz, lambda buffer: np.savez_compressed(buffer, **{key: images}))
        print(f"wrote {args.npz} ({len(images)} {key})")
    return 0


def add_plot(sub: argparse._SubParsersAction) -> None:
    """`mnistgan plot`."""
    p = sub.add_parser("plot", help="redraw a run's figures from its JSONL files")
    p.add_argument("run", type=Path, help="run directory")
    p.set_defaults(func=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw the figures."""
    from mnistgan.plots import plot_run

    for path in plot_run(args.run):
        print(f"wrote {path}")
    return 0


def add_ablate(sub: argparse._SubParsersAction) -> None:
    """`mnistgan ablate`."""
    p = sub.add_parser("ablate", help="train presets over seeds, evaluate each, tabulate mean ± std")
    p.add_argument("--presets", required=True, help=f"comma-separated presets from: {', '.join(PRESETS)}")
    p.add_argument("--seeds", type=_positive_int, default=5, help="seeds 0..N-1 per preset (default 5)")
    p.add_argument("--steps", type=_positive_int, default=None, help="training steps of every run")
    p.add_argument("--full", action="store_true", help="each preset's own (long) step count instead of --steps")
    p.add_argument("--jobs", type=_positive_int, default=1, help="runs at a time; each gets cores // jobs threads")
    p.add_argument("--threads", type=_positive_int, default=None, help="threads per run instead of cores // jobs")
    n_help = "samples scored per run (default: the dataset's protocol: 10000 for MNIST, 2500 for a 2-D mixture, 26000"
    n_help += " for Stacked MNIST)"
    p.add_argument("--n-eval", type=_positive_int, default=None, help=n_help)
    data_help = (
        "train every preset on this dataset instead of its own (ring8 and grid25: the 2-D mixtures; stacked-mnist)"
    )
    p.add_argument("--dataset", default=None, help=data_help)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/ablate or runs/ablate-full)")
    p.set_defaults(func=cmd_ablate)


def cmd_ablate(args: argparse.Namespace) -> int:
    """Run (or resume) the ablation and print where its table and figure are."""
    from mnistgan.ablate import run_ablation

    if args.full == (args.steps is not None):
        raise UserError("ablate: give exactly one of --steps N and --full")
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    if not presets:
        raise UserError(f"--presets: give one or more of {', '.join(PRESETS)}")
    out = args.out or Path("runs") / (
        ("ablate-full" if args.full else "ablate") + (f"-{args.dataset}" if args.dataset else "")
    )
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    cores = args.threads * args.jobs if args.threads else None  # run_ablation gives each job cores // jobs
    table, figure = run_ablation(
        presets, args.seeds, args.steps, out, args.jobs, args.n_eval, cores, dataset=args.dataset
    )
    print(table.read_text())
    print(f"wrote {table} and {figure}")
    return 0


def add_eval(sub: argparse._SubParsersAction) -> None:
    """`mnistgan eval`."""
    p = sub.add_parser("eval", help="score a generator or images with the metrics, beside the real-data row")
    target_help = "run directory, generator .safetensors, .npz/.npy of images, or folder of PNGs"
    p.add_argument("target", nargs="?", type=Path, default=None, help=target_help)
    p.add_argument("--real", action="store_true", help="score only held-out real images (the reference row)")
    p.add_argument("--pretrained", action="store_true", help="score the unconditional generator the package ships")
    p.add_argument("--n", type=_positive_int, default=None, help="samples (default 10000; files: all they hold)")
    p.add_argument("--metrics", default="all", help="comma-separated names, or all (default); a wrong one lists them")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="noise seed for generators, subset seed for --real")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--list-metrics", action="store_true", help="say what each metric measures, and exit")
    p.add_argument("--dataset", default=None, help="score as this dataset (default: the run's own, else mnist)")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate, print the table, say where the results went."""
    from mnistgan.evaluate import format_report, run_eval

    if args.list_metrics:
        from mnistgan.metrics.registry import METRICS

        for name, spec in METRICS.items():
            print(f"{name:13s} {spec.help} (needs at least {spec.min_samples})")
        return 0

    if args.target is not None and args.real:
        raise UserError("give a TARGET or --real, not both (every table already shows the real row)")
    if args.pretrained:
        if args.target is not None or args.real:
            raise UserError("--pretrained replaces TARGET and --real: give only one")
        from mnistgan.pretrained import pretrained_run

        args.target = pretrained_run("unconditional")
    record = run_eval(args.target, args.real, args.n, args.metrics, args.seed, args.json, args.dataset)
    if record["model"] is not None:
        print(f"model: {record['model']['target']}")
    if record.get("table"):  # a dataset's own scorer with its own table (Stacked MNIST)
        print(f"{record['protocol']}; evaluator {record['evaluator_sha256'][:12]}")
        print(record["table"])
    else:
        print(format_report(record))
    if record["model"] is not None and record["model"].get("verdict"):
        print(f"verdict: {record['model']['verdict']}")
    print(f"wall time {record['wall_seconds']:.1f} s")
    for path in record["written"]:
        print(f"wrote {path}")
    for reason in record["not_written"]:
        print(f"mnistgan eval: warning: results not saved: {reason}", file=sys.stderr)
    return 0


def add_evaluator(sub: argparse._SubParsersAction) -> None:
    """`mnistgan evaluator train`."""
    p = sub.add_parser("evaluator", help="the evaluator network the metrics use")
    actions = p.add_subparsers(dest="action", required=True)
    t = actions.add_parser("train", help="train the evaluator CNN with a fixed seed")
    t.add_argument("--out", type=Path, default=Path("evaluator.safetensors"), help="weights file (JSON beside it)")
    t.add_argument("--seed", type=_nonneg_int, default=0, help="random seed (default 0, the shipped weights)")
    t.add_argument("--epochs", type=_positive_int, default=None, help="epochs (default 4, the shipped weights)")
    t.set_defaults(func=cmd_evaluator_train)


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    """Train the evaluator and print its accuracy and SHA-256."""
    from mnistgan.files import unwritable_reason
    from mnistgan.metrics.evaluator_train import EvaluatorConfig, train_evaluator

    if reason := unwritable_reason(args.out.absolute().parent):
        raise UserError(f"--out {args.out}: {reason}")  # before minutes of training

    config = EvaluatorConfig(seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    record = train_evaluator(args.out, config)
    print(f"test accuracy {record['test_accuracy']:.4f}, SHA-256 {record['sha256']}")
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}; to ship them, copy both into src/mnistgan/weights/")
    print("and set EVALUATOR_SHA256 in src/mnistgan/metrics/evaluator.py (this changes every metric: say so)")
    return 0


COMMANDS = [add_train, add_sample, add_plot, add_ablate, add_eval, add_evaluator]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(prog="mnistgan", description="Train, sample and measure GANs on MNIST.")
    parser.add_argument("--version", action="version", version=f"mnistgan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:  # answered before the subcommands' parsers are
        print(f"mnistgan {__version__}")  # built: their choices come from registries that import torch (seconds)
        return 0
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"mnistgan {args.command}: error: {err}", file=sys.stderr)
        return 2
    except NonFiniteError as err:
        print(f"mnistgan {args.command}: stopped: {err}", file=sys.stderr)
        return 3
    except Interrupted as err:
        print(f"mnistgan {args.command}: {err}", file=sys.stderr)
        return 128 + err.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        text = "out of memory; ask for fewer samples (--n) or a smaller batch"
        print(f"mnistgan {args.command}: error: {text}", file=sys.stderr)
        return 2
    except OSError as err:  # a read or write the library did not wrap: still one line, never a traceback
        import errno

        from mnistgan.files import write_error

        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            text = write_error(Path(err.filename or "."), err)
        else:
            text = f"{err.filename + ': ' if err.filename else ''}{err.strerror or err}"
        print(f"mnistgan {args.command}: error: {text}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
