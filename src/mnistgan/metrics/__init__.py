"""Quantitative evaluation in the features of a shipped MNIST classifier: one module per metric family.

    from mnistgan.metrics import evaluate, METRICS
    result = evaluate(images_uint8, ["fd", "kid"])   # images (N, 28, 28) uint8

Importing this package registers every metric in METRICS (name -> MetricSpec), in the order the CLI lists them.
"""

from mnistgan.metrics import frechet, kid, score, prdc, parzen, memorization  # noqa: F401, I001 - registration order
from mnistgan.metrics.core import Context, check_images, evaluate
from mnistgan.metrics.evaluator import EVALUATOR_SHA256, Evaluator, embed, load_evaluator
from mnistgan.metrics.frechet import FeatureStats, frechet_distance, frechet_distance_features
from mnistgan.metrics.kid import kernel_distance, mmd2_unbiased
from mnistgan.metrics.memorization import memorization_stats, nearest_train
from mnistgan.metrics.parzen import CAVEAT, parzen_log_likelihoods, parzen_protocol
from mnistgan.metrics.prdc import prdc as precision_recall_density_coverage
from mnistgan.metrics.reference import Reference
from mnistgan.metrics.registry import METRICS, MetricSpec, parse_metrics, register_metric
from mnistgan.metrics.score import classifier_score, digit_stats

__all__ = [
    "CAVEAT",
    "Context",
    "EVALUATOR_SHA256",
    "Evaluator",
    "FeatureStats",
    "METRICS",
    "MetricSpec",
    "Reference",
    "check_images",
    "classifier_score",
    "digit_stats",
    "embed",
    "evaluate",
    "frechet_distance",
    "frechet_distance_features",
    "kernel_distance",
    "load_evaluator",
    "memorization_stats",
    "mmd2_unbiased",
    "nearest_train",
    "parse_metrics",
    "parzen_log_likelihoods",
    "parzen_protocol",
    "precision_recall_density_coverage",
    "register_metric",
]
