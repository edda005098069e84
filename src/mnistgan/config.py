"""Typed training configuration: every default carries its reason; named presets; JSON round trip.

No torch here: the CLI builds and prints a config (``--dry-run``) without importing the heavy stack.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistgan.errors import UserError


@dataclass
class TrainConfig:
    """Everything that determines a training run. The defaults are the tutorial's GAN, unchanged.

    Example:
        >>> config = mnistgan.TrainConfig(steps=1_000, arch="conv")  # or preset_config(name, **overrides)
    """

    preset: str = "tutorial"  # name of the preset these values came from (recorded, not read by training)

    # Data.
    dataset: str = "mnist"  # bundled MNIST: trains offline out of the box
    data_dir: str | None = None  # any folder of MNIST-format IDX files overrides `dataset`

    # Models.
    arch: str = "mlp"  # the tutorial's 100 -> 256 -> 784 generator and 784 -> 256 -> 1 discriminator
    z_dim: int = 100  # tutorial: "noise 100"
    g_hidden: int = 256  # tutorial: one hidden layer of 256 units in G
    d_hidden: int = 256  # tutorial: D "as complex as the generator", 256 units
    noise: str = "uniform"  # tutorial: z ~ Uniform(-1, 1)
    conv_channels: int = 32  # arch conv: c in G (2c 7x7 -> c 14x14) and D; c=32 is 2.7x cheaper a step than 64
    conditional: bool = False  # label embedding in G and a projection D (Miyato & Koyama 2018)
    clusters: int = 0  # K > 0: condition G and D on K k-means clusters of the training pixels instead of labels
    # (a fixed-clustering self-conditioned GAN, Liu et al. 2020); unconditional to its user, no labels used

    # Discriminator remedies against mode collapse (all off: the tutorial's D).
    spectral_norm: bool = False  # Miyato et al. 2018: every D layer divided by its largest singular value
    mbstd: bool = False  # Karras et al. 2018: D sees the batch's feature std as one extra feature
    mbstd_group: int = 4  # ProGAN's group size; must divide batch_size // pack so no group mixes real and fake
    minibatch_disc: bool = False  # Salimans et al. 2016 minibatch discrimination (MLP D only; 100 kernels of 5)
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges `pack` samples of one source at once; 1 is plain D

    # Objective and optimisation.
    loss: str = "nsgan"  # tutorial: D on -log D(x) - log(1 - D(G(z))), G on non-saturating -log D(G(z)); any name in
    # objectives.LOSSES (nsgan, hinge, wgan, rpgan, lsgan)
    lr_g: float = 2e-4  # tutorial: Adam, learning rate 2e-4, for both networks
    lr_d: float = 2e-4  # tutorial: the same 2e-4 for D
    beta1: float = 0.9  # tutorial uses tf.train.AdamOptimizer's defaults: beta1 0.9
    beta2: float = 0.999  # ... beta2 0.999
    adam_eps: float = 1e-8  # ... epsilon 1e-8 (torch's default too)
    batch_size: int = 128  # tutorial: 128 real images and 128 noise vectors a step
    steps: int = 70_000  # tutorial: 70,000 iterations
    n_critic: int = 1  # D updates per G update; 1 as in the tutorial, 5 for WGAN-GP (Gulrajani et al. 2017)
    gp_weight: float = 0.0  # WGAN-GP lambda (paper: 10); 0 is off
    r1_gamma: float = 0.0  # R1 penalty on real data, weight gamma / 2 (Mescheder et al. 2018); 0 is off
    r2_gamma: float = 0.0  # R2 penalty on fakes, weight gamma / 2 (Huang et al. 2024 pair it with R1); 0 is off

    # Generator remedies.
    feature_matching: bool = False  # Salimans et al. 2016: G matches the mean of D's penultimate features
    unroll_steps: int = 0  # Metz et al. 2017: G's loss against D after k surrogate Adam steps; 0 is off
    mode_seeking: float = 0.0  # Mao et al. 2019 (MSGAN) weight; 0 is off, the paper's 1.0 keeps a conditional G
    # from ignoring z (without it our conditional G drew one image per digit)
    ema_beta: float = 0.0  # EMA of G's weights for sampling (Yazici et al. 2019); 0 is off, 0.999 is common

    # Run control.
    seed: int = 0  # same seed, same device: same weights
    device: str = "auto"  # cuda when present, else cpu
    threads: int = 0  # 0: one thread per physical core (torch's default oversubscribes hyperthreads)
    compile: bool = False  # torch.compile for the autograd engine: a minute of compiling on CPU for little gain
    # there (benchmarks/train_speed.py); the tutorial's MLP runs the manual engine, which compiling does not touch

    # Outputs.
    log_every: int = 100  # stats.jsonl row interval; the host syncs only here, never every step
    print_every: int = 2_000  # tutorial prints "Step i: Generator Loss ..." every 2,000 steps
    snapshot_every: int = 2_000  # fixed-noise grid for the progress GIF (35 frames over a full run)
    checkpoint_every: int = 10_000  # full resume state every N steps (a few MB, cheap next to 10k steps) ...
    checkpoint_seconds: float = 60.0  # ... and whenever this much time passed since the last one, so a kill loses at
    # most about a minute of training on any preset and device; 0: steps only
    eval_every: int = 10_000  # steps between in-training metrics (fd, score, digit shares: metrics.jsonl, drawn as
    # digits.png), and at the last step; 0 is off. Mode collapse shows here while it happens; the 7 evaluations of
    # the tutorial's 70,000 steps cost under 3% of its training time (benchmarks/eval_cost.py; every 5,000: 5%)
    eval_samples: int = 2_000  # samples per in-training evaluation: under a second on CPU

    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes carried into config.json

    def validate(self) -> TrainConfig:
        """Raise UserError naming the first bad value; return self for chaining."""
        positive = ["z_dim", "g_hidden", "d_hidden", "batch_size", "steps", "log_every", "print_every"]
        positive += ["snapshot_every", "checkpoint_every", "eval_samples"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise UserError(f"{name} must be a positive integer, got {value!r}")
        for name in ["lr_g", "lr_d", "adam_eps"]:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < float("inf")):
                raise UserError(f"{name} must be a positive finite number, got {value!r}")
        for name in ["beta1", "beta2"]:
            value = getattr(self, name)
            if not (0 <= value < 1):
                raise UserError(f"{name} must be in [0, 1), got {value!r}")
        if self.eval_every < 0 or self.threads < 0:
            raise UserError("eval_every and threads must be >= 0")
        if not (0 <= self.checkpoint_seconds < float("inf")):
            value = self.checkpoint_seconds
            raise UserError(f"checkpoint_seconds must be a finite number >= 0 (0: off), got {value!r}")
        from mnistgan.models import ARCHS  # the registries own the names (imports torch: only when validating)
        from mnistgan.objectives import LOSSES

        choices = {"device": DEVICES, "noise": NOISES, "arch": list(ARCHS), "loss": list(LOSSES)}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise UserError(f"{name} must be one of {', '.join(valid)}, got {getattr(self, name)!r}")
        self._validate_remedies()
        self._validate_dataset()
        self._validate_shape()
        return self

    def _validate_dataset(self) -> None:
        from mnistgan.data import DATASETS
        from mnistgan.models import ARCHS

        spec = DATASETS.get(self.dataset) if self.data_dir is None else None
        kind = spec.kind if spec is not None else "images"  # a --data-dir folder holds MNIST-format images
        arch = ARCHS[self.arch]
        if kind not in arch.kinds:
            fits = [name for name, a in ARCHS.items() if kind in a.kinds]
            raise UserError(
                f"arch {self.arch} takes {', '.join(arch.kinds)}, but dataset {self.dataset} holds {kind}; "
                f"use arch {' or '.join(fits)}"
            )
        if kind == "points" and (self.conditional or self.clusters):
            raise UserError(f"conditional and clusters need an image dataset; {self.dataset} holds points")

    def _validate_shape(self) -> None:
        """The architecture must take the dataset's samples (a grayscale network cannot train on Stacked MNIST)."""
        import math

        from mnistgan.data import DATASETS
        from mnistgan.models import ARCHS

        spec = DATASETS.get(self.dataset) if self.data_dir is None else DATASETS["mnist"]  # --data-dir: MNIST-format
        if spec is None:  # an unknown name is reported when the data is read
            return
        arch = ARCHS[self.arch]
        if spec.kind != "images" or arch.data_shape is None:  # points: _validate_dataset; None: any width
            return
        if math.prod(arch.data_shape) != math.prod(spec.shape):
            fits = [a.name for a in ARCHS.values() if a.data_shape and math.prod(a.data_shape) == math.prod(spec.shape)]
            data = f"dataset {self.dataset}" if self.data_dir is None else "--data-dir (MNIST-format)"
            raise UserError(
                f"arch {self.arch} takes samples of shape {arch.data_shape}, but {data} has {spec.shape}; "
                f"architectures for it: {', '.join(fits) or 'none'}"
            )

    def _validate_remedies(self) -> None:
        for name in ["conv_channels", "mbstd_group", "pack", "n_critic"]:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise UserError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.unroll_steps, int) or self.unroll_steps < 0:
            raise UserError(f"unroll_steps must be an integer >= 0, got {self.unroll_steps!r}")
        for name in ["gp_weight", "r1_gamma", "r2_gamma", "mode_seeking"]:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
                raise UserError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (isinstance(self.ema_beta, (int, float)) and 0 <= self.ema_beta < 1):
            raise UserError(f"ema_beta must be in [0, 1) (0: no EMA), got {self.ema_beta!r}")
        if self.batch_size % self.pack:
            raise UserError(f"pack {self.pack} must divide batch_size {self.batch_size}")
        if self.mbstd and (self.batch_size // self.pack) % self.mbstd_group:
            raise UserError(
                f"mbstd_group {self.mbstd_group} must divide batch_size // pack = {self.batch_size // self.pack}, "
                "so that no group mixes real and generated samples"
            )
        if self.minibatch_disc and self.arch not in ("mlp", "pacgan-mlp"):
            raise UserError("minibatch_disc is implemented for the MLP discriminator only (use arch mlp or pacgan-mlp)")
        if not isinstance(self.clusters, int) or isinstance(self.clusters, bool) or self.clusters < 0:
            raise UserError(f"clusters must be an integer >= 0 (0: off), got {self.clusters!r}")
        if self.conditional and self.clusters:
            raise UserError("choose conditional (digit labels) or clusters (k-means ids), not both")
        if (self.conditional or self.clusters) and self.pack != 1:
            raise UserError("conditional and clusters need pack 1: a projection discriminator scores one image")
        if self.feature_matching and self.unroll_steps:
            raise UserError("feature_matching and unroll_steps both replace G's loss: choose one")

    @property
    def n_labels(self) -> int:
        """How many labels G and D are conditioned on: 10 digits, K clusters, or 0 (unconditional)."""
        return self.clusters or (10 if self.conditional else 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, rejecting unknown keys and values of the wrong type by name."""
        if not isinstance(values, dict):
            raise UserError(f"a config is a JSON object of settings, got a {type(values).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k not in RETIRED}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise UserError(f"unknown config keys {unknown}; valid keys: {sorted(fields)}")
        for name, value in values.items():
            kinds = _TYPES[str(fields[name].type)]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                want = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
                raise UserError(f"config key {name} must be {want}, got {value!r}")
        return cls(**values)


# Keys older runs wrote that no longer mean anything; dropped when read. simultaneous: D and G always update from one
# forward, as the tutorial's single sess.run does (step.py); there was never another mode.
RETIRED = ("simultaneous",)


@dataclass(frozen=True)
class FieldDoc:
    """One TrainConfig field as the CLI shows it: read from this file's source, so the comment beside a default
    is its flag's help and the section comment above it is its flag's group."""

    name: str
    kind: str  # the annotation: int, float, bool, str, str | None, dict[str, Any]
    default: Any
    help: str
    section: str


@functools.cache
def field_docs() -> tuple[FieldDoc, ...]:
    """Every TrainConfig field with its type, default, help (the reason beside it) and section, in order (the
    source is read once per process)."""
    import inspect
    import re

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    kinds = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    docs: dict[str, list[str]] = {}
    sections: dict[str, str] = {}
    section, last, blank = "", None, True
    for line in inspect.getsource(TrainConfig).splitlines()[2:]:
        stripped = line.strip()
        field_match = re.match(r"^(\w+): [^=]+?(?: = .*?)?(?:  # (.*))?$", stripped)
        if not stripped:
            blank, last = True, None
        elif stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if blank:
                section = text.rstrip(".")
            elif last is not None:
                docs[last].append(text)
            blank = False
        elif field_match and field_match.group(1) in defaults:
            last = field_match.group(1)
            docs[last] = [field_match.group(2) or ""]
            sections[last] = section
            blank = False
        else:
            blank, last = False, None
    return [
        FieldDoc(n, kinds[n], defaults[n], " ".join(docs.get(n, [""])).strip(), sections.get(n, "")) for n in defaults
    ]


# What each annotation of TrainConfig admits in JSON (an int is a valid float; a bool is not an int here).
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str | None": (str, type(None)),
    "dict[str, Any]": (dict,),
}

# Fields that `--resume` may change: how long, on what, how often to write, and where the data now lies (a moved
# folder of the same files); everything else defines the run.
RESUME_MUTABLE = ("steps", "threads", "device", "log_every", "print_every", "snapshot_every", "checkpoint_every")
RESUME_MUTABLE += ("checkpoint_seconds", "eval_every", "eval_samples", "data_dir")


def resume_changes(saved: TrainConfig, wanted: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """{field: (saved, wanted)} of the fields a resume changes; UserError naming any that may not change."""
    fixed = [
        f.name
        for f in dataclasses.fields(TrainConfig)
        if f.name not in RESUME_MUTABLE and f.name != "extra" and getattr(saved, f.name) != getattr(wanted, f.name)
    ]
    if fixed:
        what = ", ".join(f"{n} (run: {getattr(saved, n)!r}, asked: {getattr(wanted, n)!r})" for n in fixed)
        raise UserError(f"cannot change {what} when resuming; start a new run with --out to train with it")
    return {
        n: (getattr(saved, n), getattr(wanted, n)) for n in RESUME_MUTABLE if getattr(saved, n) != getattr(wanted, n)
    }


DEVICES = ("auto", "cpu", "cuda")
NOISES = ("uniform", "normal")

# DCGAN's optimiser (Radford et al. 2016): Adam beta1 0.5, which they found steadier than 0.9 for conv GANs.
_DCGAN = {"arch": "conv", "beta1": 0.5}
# R3GAN (Huang et al. 2024): relativistic pairing with R1 and R2. gamma is tuned per dataset in the paper; 1.0 on
# [0, 1] pixels is our untuned choice (a gradient norm of about 1 per image is what D can afford here).
_R3GAN = {"loss": "rpgan", "r1_gamma": 1.0, "r2_gamma": 1.0}
# WGAN-GP (Gulrajani et al. 2017, Algorithm 1): lambda 10, 5 critic steps per G step, Adam 1e-4, betas (0, 0.9).
_WGAN_GP = {"loss": "wgan", "gp_weight": 10.0, "n_critic": 5, "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9}

# PacGAN's 2-D experiments (github.com/fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/config.py, the
# same for 2DGrid): their networks (mixture_nets.py), z 2-D standard normal, Adam lr 1e-4 with beta1 0.8, batch 100.
# They train 400 epochs of their 100,000 points (400,000 steps); ours get STEPS_2D steps (a minute or two on one core).
STEPS_2D = 1_500
_PACGAN_2D = {
    "dataset": "ring8",
    "arch": "pacgan-mlp",
    "z_dim": 2,
    "noise": "normal",
    "g_hidden": 400,
    "d_hidden": 200,
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.8,
    "batch_size": 100,
    "steps": STEPS_2D,
    "snapshot_every": STEPS_2D // 25,  # 25 frames of mixture.gif
    "print_every": STEPS_2D,
    "checkpoint_every": STEPS_2D,
}

# Presets: overrides on top of the tutorial defaults. One per remedy on the tutorial's MLP, then conv combinations.
PRESETS: dict[str, dict[str, Any]] = {
    "tutorial": {},
    "mbstd": {"mbstd": True},
    "minibatch-disc": {"minibatch_disc": True},
    "feature-matching": {"feature_matching": True},
    "pacgan2": {"pack": 2},
    "pacgan4": {"pack": 4},
    "unrolled5": {"unroll_steps": 5},
    "sn-hinge": {"spectral_norm": True, "loss": "hinge"},
    "wgan-gp": dict(_WGAN_GP),
    "r3gan": dict(_R3GAN),
    # Least-squares GAN (Mao et al. 2017), the tutorial's pair and optimiser otherwise: a loss whose G gradient does
    # not vanish when D is confident, added through the loss registry alone (objectives.register_loss).
    "lsgan": {"loss": "lsgan"},
    "ema": {"ema_beta": 0.999},
    "conditional": {"conditional": True},
    # The conv pair costs ~10x the MLP's step, so its long runs are shorter (20,000 steps ~ 57 epochs).
    "conv": {**_DCGAN, "steps": 20_000},
    "conv-sn-hinge-mbstd": {**_DCGAN, "steps": 20_000, "spectral_norm": True, "loss": "hinge", "mbstd": True},
    "conv-r3gan": {**_DCGAN, "steps": 20_000, **_R3GAN},
    "conv-pacgan2-ema": {**_DCGAN, "steps": 20_000, "pack": 2, "ema_beta": 0.999},
    # DCGAN with an EMA of G's weights. 12,000 steps (34 epochs) train in about 11 minutes on 2 CPU cores
    # (18 steps/s), inside a budget of 15 minutes a seed.
    "conv-ema": {**_DCGAN, "steps": 12_000, "ema_beta": 0.999},
    # Its class-conditional counterpart (the shipped conditional generator): the same, plus labels, plus MSGAN's
    # term (without it G ignored z and drew one image per digit).
    "conv-conditional": {**_DCGAN, "steps": 12_000, "ema_beta": 0.999, "conditional": True, "mode_seeking": 1.0},
    # The recommended unconditional preset (README, "Mode collapse"): conditioned on 50 k-means clusters of the
    # pixels drawn in proportion (clusters.py): 50 clusters are 81% pure in digit against 59% for 10, so G's
    # per-cluster digit mix has less to get right; about 12 minutes a seed on 2 CPU cores.
    "conv-clusters": {**_DCGAN, "steps": 12_000, "ema_beta": 0.999, "clusters": 50, "mode_seeking": 1.0},
    # The 2-D mixtures (ring8 by default; --dataset grid25, or ablate --dataset grid25, for the grid): PacGAN's GAN
    # baseline, their PacGAN2 (D judges pairs; batch 200 keeps their 100 D inputs a step), and our remedy.
    "mixture-gan": dict(_PACGAN_2D),
    "mixture-pacgan2": {**_PACGAN_2D, "pack": 2, "batch_size": 200},
    # Our remedy (docs/mixtures.md, "What was tried"): PacGAN2's pairs plus a small R1 penalty (Mescheder et al.
    # 2018: the GAN converges to the data instead of circling it, which evens the modes' shares) and an EMA of G,
    # on the same network family at 128 units (a step costs a third of the 400/200 pair's), Adam 1e-3, beta1 0.5.
    # gamma 1e-3: R1 scales with D's slope squared, ~1/std^2, and the ring's std is 0.01. EMA 0.99, not 0.999: G has
    # BatchNorm, whose running statistics the average copies from the live G, and a long average drifts from them.
    "mixture-r1-pacgan2": {
        **_PACGAN_2D,
        "g_hidden": 128,
        "d_hidden": 128,
        "lr_g": 1e-3,
        "lr_d": 1e-3,
        "beta1": 0.5,
        "pack": 2,
        "batch_size": 200,
        "r1_gamma": 1e-3,
        "ema_beta": 0.99,
        "steps": 6_000,
        "snapshot_every": 240,
        "print_every": 6_000,
        "checkpoint_every": 6_000,
    },
}


# One line per preset for `train --help` (tests/test_cli.py checks that every preset has one).
PRESET_ABOUT: dict[str, str] = {
    "tutorial": "the tutorial's MLP GAN, exactly (collapses to a few digits)",
    "mbstd": "+ minibatch standard deviation in D (Karras et al. 2018)",
    "minibatch-disc": "+ minibatch discrimination in D (Salimans et al. 2016)",
    "feature-matching": "G matches D's mean features (Salimans et al. 2016)",
    "pacgan2": "D judges pairs of samples (Lin et al. 2018)",
    "pacgan4": "D judges groups of four samples (Lin et al. 2018)",
    "unrolled5": "G's loss against D unrolled 5 steps (Metz et al. 2017)",
    "sn-hinge": "spectral norm in D with the hinge loss (Miyato et al. 2018)",
    "wgan-gp": "Wasserstein loss with gradient penalty, 5 D steps per G step (Gulrajani et al. 2017)",
    "r3gan": "relativistic loss with R1 and R2 penalties (Huang et al. 2024)",
    "lsgan": "least-squares loss (Mao et al. 2017)",
    "ema": "+ a moving average of G's weights for sampling (Yazici et al. 2019)",
    "conditional": "class-conditional G and projection D (uses the digit labels)",
    "conv": "DCGAN-style conv pair (Radford et al. 2016)",
    "conv-sn-hinge-mbstd": "conv pair + spectral norm, hinge loss and minibatch std",
    "conv-r3gan": "conv pair + R3GAN's loss and penalties",
    "conv-pacgan2-ema": "conv pair + PacGAN pairs and an EMA of G",
    "conv-ema": "conv pair + an EMA of G",
    "conv-conditional": "the shipped conditional generator's recipe (labels, EMA, mode seeking)",
    "conv-clusters": "recommended: conv pair conditioned on 50 k-means clusters, EMA, mode seeking (no labels)",
    "mixture-gan": "2-D mixtures (ring8; --dataset grid25): PacGAN's GAN baseline, their networks and optimiser",
    "mixture-pacgan2": "2-D mixtures: PacGAN2, D judges pairs of points (Lin et al. 2018)",
    "mixture-r1-pacgan2": "2-D mixtures, our remedy: PacGAN2 pairs + R1 penalty + EMA of G, 128-unit nets",
}


# The Stacked MNIST presets (their own module: two published settings, each with its sources).
from mnistgan.stacked_presets import STACKED_ABOUT, STACKED_PRESETS  # noqa: E402

PRESETS.update(STACKED_PRESETS)
PRESET_ABOUT.update(STACKED_ABOUT)


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with overrides applied (None values are ignored), validated.

    Example:
        >>> config = mnistgan.preset_config("conv-clusters", steps=2_000, seed=1)
    """
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    values = {**PRESETS[name], "preset": name}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(values).validate()


def save_config(config: TrainConfig, path: Path) -> None:
    """Write config.json (indented, sorted keys, so runs diff cleanly), atomically."""
    from mnistgan.files import atomic_write_text

    atomic_write_text(Path(path), json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def load_config(path: Path) -> TrainConfig:
    """Read config.json written by save_config."""
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise UserError(f"cannot read config {path}: {err}") from None
    try:
        return TrainConfig.from_dict(values)
    except UserError as err:
        raise UserError(f"{path}: {err}") from None
