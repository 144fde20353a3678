"""``ds500.setup``: seed everything, switch on the offline guard, report the environment.

Why one call: every lab starts the same way, and the things that make a lab
reproducible and safe are easy to forget one by one (seeding four RNGs, keeping
google-auth away from the metadata server, blocking the network in tests). The
printed report answers "what did this run on?" when a number differs between a
student's run and the text.

``setup`` never imports TensorFlow or torch (a lab that does not need them should
not pay seconds for them). It seeds them only if the lab already imported them;
after importing a framework later, a lab calls :func:`seed_everything` again.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ds500.cloud import CloudContext

__all__ = ["LabContext", "seed_everything", "setup", "package_versions", "REPORTED_PACKAGES"]

NOT_INSTALLED = "not installed"

#: Distributions whose versions the setup report shows (``tensorflow`` and
#: ``tensorflow-cpu`` are alternatives: only one is ever installed).
REPORTED_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "torch",
    "google-cloud-aiplatform",
    "kfp",
)

_MAX_SEED = 2**32 - 1  # numpy's legacy global RNG accepts seeds below 2**32


@dataclass
class LabContext:
    """What :func:`setup` did, for the rest of the lab to use.

    Attributes:
        seed: the seed every RNG was seeded with.
        rng: a fresh ``numpy.random.Generator`` seeded with ``seed``; prefer it to
            the global ``np.random`` functions.
        on_colab: True inside Google Colab.
        offline: True when the offline guard is installed.
        run_on_gcp: the lab's ``RUN_ON_GCP``.
        project_id: the lab's ``PROJECT_ID`` (may be empty offline).
        region: the lab's ``REGION``.
        accelerator: :func:`ds500.accelerators.describe`, e.g. ``"CPU (2 cores)"``.
        versions: distribution name -> version, or ``"not installed"``.
    """

    seed: int
    rng: np.random.Generator
    on_colab: bool
    offline: bool
    run_on_gcp: bool
    project_id: str
    region: str
    accelerator: str
    versions: dict[str, str] = field(default_factory=dict)

    def cloud(self, **kwargs: Any) -> CloudContext:
        """Set up the Google Cloud SDK for this lab (dry run unless ``run_on_gcp``).

        Args:
            **kwargs: passed on to :func:`ds500.cloud.context`
                (``staging_bucket=``, ``experiment=``, ``vertex_ai=``).

        Returns:
            The :class:`ds500.cloud.CloudContext`.
        """
        from ds500 import cloud

        return cloud.context(self.run_on_gcp, self.project_id, self.region, **kwargs)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a whole number such as 42, got {seed!r} ({type(seed).__name__})")
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must be between 0 and {_MAX_SEED}, got {seed}")
    return seed


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy, and TensorFlow/Keras and torch if imported.

    Why: a lab's numbers (quoted in its text) must come out the same on every run.
    The frameworks are seeded only when already in ``sys.modules``, so this stays
    cheap; call it again right after ``import tensorflow`` or ``import torch``.
    ``PYTHONHASHSEED`` is set for *subprocesses* (it cannot change this process's
    string hashing, which is fixed at start-up).

    Args:
        seed: a non-negative int below 2**32.

    Raises:
        TypeError: if ``seed`` is not an int (a bool is refused too).
        ValueError: if ``seed`` is negative or too large.
    """
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "keras" in sys.modules:
        keras = sys.modules["keras"]
        setter = getattr(getattr(keras, "utils", None), "set_random_seed", None)
        if callable(setter):
            setter(seed)  # seeds random, numpy and the backend (TensorFlow, torch or JAX)
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        random_module = getattr(tf, "random", None)
        if random_module is not None and hasattr(random_module, "set_seed"):
            random_module.set_seed(seed)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if hasattr(torch, "manual_seed"):
            torch.manual_seed(seed)  # also seeds every CUDA device


def package_versions(names: tuple[str, ...] = REPORTED_PACKAGES) -> dict[str, str]:
    """Installed versions from package metadata, without importing the packages.

    Args:
        names: distribution names (as on PyPI).

    Returns:
        Name -> version, or ``"not installed"``.

    Raises:
        TypeError: if ``names`` is not a tuple or list of strings.
    """
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"names must be a tuple of distribution names, got {names!r}")
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = NOT_INSTALLED
    return versions


def _on_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _style_plots() -> None:
    """A clean, readable default for every lab's matplotlib figures (no pyplot import)."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.rcParams.update(
        {
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
        }
    )


def _report(context: LabContext, version: str) -> str:
    def shown(name: str) -> str:
        value = context.versions.get(name, NOT_INSTALLED)
        return "—" if value == NOT_INSTALLED else value

    tf_version = shown("tensorflow")
    if tf_version == "—":
        tf_version = shown("tensorflow-cpu")
    packages = {
        "numpy": shown("numpy"),
        "pandas": shown("pandas"),
        "scikit-learn": shown("scikit-learn"),
        "tensorflow": tf_version,
        "keras": shown("keras"),
        "torch": shown("torch"),
        "google-cloud-aiplatform": shown("google-cloud-aiplatform"),
        "kfp": shown("kfp"),
    }
    if context.run_on_gcp:
        cloud = (
            f"RUN_ON_GCP=True: project {context.project_id}, region {context.region} "
            "(cloud cells create resources and bill this project)"
        )
    else:
        cloud = (
            f"RUN_ON_GCP=False: dry runs only, nothing is sent to Google Cloud "
            f"(region {context.region}" + (f", project {context.project_id})" if context.project_id else ")")
        )
    guard = "on (no network; loopback only)" if context.offline else "off"
    lines = [
        f"ds500 {version} · Python {platform.python_version()} · {platform.platform(terse=True)}",
        f"  runtime:      {'Google Colab' if context.on_colab else 'local / Jupyter'}",
        f"  accelerator:  {context.accelerator}",
        f"  offline:      guard {guard}",
        f"  cloud:        {cloud}",
        f"  seed:         {context.seed}",
        "  packages:     " + ", ".join(f"{k} {v}" for k, v in packages.items()),
    ]
    return "\n".join(lines)


def setup(
    seed: int = 42,
    *,
    run_on_gcp: bool = False,
    project_id: str = "",
    region: str = "us-central1",
    offline: bool | None = None,
    quiet: bool = False,
) -> LabContext:
    """Prepare a lab: seeds, offline guard, quiet logs, plot style, and a short report.

    Args:
        seed: the lab's ``SEED``; a non-negative int.
        run_on_gcp: the lab's ``RUN_ON_GCP``; must be a real bool.
        project_id: the lab's ``PROJECT_ID`` (checked if not empty).
        region: the lab's ``REGION`` (checked).
        offline: install the offline guard (True), do not (False; also removes a guard
            installed earlier in this kernel), or follow ``DS500_OFFLINE`` (None).
        quiet: skip the printed report.

    Returns:
        A :class:`LabContext`.

    Raises:
        TypeError: for a seed that is not an int, or ``run_on_gcp`` / ``offline`` /
            ``quiet`` that are not bools (e.g. the string ``"False"``, which is truthy).
        ValueError: for a bad seed, project id or region.
        ds500.cloud.CloudSetupError: ``run_on_gcp=True`` with the offline guard.
    """
    from ds500 import accelerators, cloud
    from ds500 import offline as guard

    seed = _check_seed(seed)
    if not isinstance(run_on_gcp, bool):
        hint = ""
        if isinstance(run_on_gcp, str):
            hint = (
                f": the string {run_on_gcp!r} is truthy, so it would switch the cloud path ON. "
                "Write RUN_ON_GCP = False (no quotes); with papermill pass -p RUN_ON_GCP False "
                "or -y 'RUN_ON_GCP: false', not -r"
            )
        raise TypeError(f"run_on_gcp must be True or False, got {run_on_gcp!r}{hint}")
    if offline is not None and not isinstance(offline, bool):
        raise TypeError(f"offline must be True, False or None, got {offline!r}")
    if not isinstance(quiet, bool):
        raise TypeError(f"quiet must be True or False, got {quiet!r}")
    region = cloud.validate_region(region)
    if not isinstance(project_id, str):
        raise TypeError(f"project_id must be a string, got {project_id!r}")
    if project_id.strip():
        project_id = cloud.validate_project_id(project_id)
    else:
        project_id = ""

    use_guard = guard.requested() if offline is None else offline
    if use_guard and run_on_gcp:
        raise cloud.CloudSetupError(
            "RUN_ON_GCP is True but the offline guard is on (DS500_OFFLINE=1 or offline=True): "
            "the cloud path needs the network. Set RUN_ON_GCP = False, or run outside the "
            "test environment."
        )
    if use_guard:
        guard.install("DS500_OFFLINE=1" if offline is None else "offline=True")
    elif offline is False and guard.is_installed():
        guard.uninstall()
    guard.set_no_gce_check(not run_on_gcp)
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    seed_everything(seed)
    _style_plots()
    context = LabContext(
        seed=seed,
        rng=np.random.default_rng(seed),
        on_colab=_on_colab(),
        offline=guard.is_installed(),
        run_on_gcp=run_on_gcp,
        project_id=project_id,
        region=region,
        accelerator=accelerators.describe(),
        versions=package_versions(),
    )
    if not quiet:
        import ds500

        print(_report(context, getattr(ds500, "__version__", "?")))
    return context
