"""Choose the best accelerator that is actually there: TPU, then GPU, then CPU.

Why: the same lab runs on a laptop, on Colab's CPU, GPU or TPU runtimes, and on
Vertex AI Workbench. A lab should not hard-code ``/gpu:0`` or ``TPUStrategy``; it
asks this module and gets the best available choice plus one line that explains it
(the exam asks *why* one picks a TPU, a GPU or a CPU, so the reason is printed).

:func:`describe` is cheap and imports no framework. :func:`tf_strategy` imports
TensorFlow and :func:`torch_device` imports torch, each only when called.
"""

from __future__ import annotations

import glob
import importlib
import logging
import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf
    import torch

__all__ = ["describe", "tf_strategy", "torch_device"]

logger = logging.getLogger(__name__)


def _tpu_hint() -> str | None:
    """Name the first sign of a TPU in this environment, or None.

    TPU VMs expose ``/dev/accel*`` (v2–v4) or numbered ``/dev/vfio/N`` groups (v5e
    and later); the old Colab TPU runtime set ``COLAB_TPU_ADDR``, Cloud TPU set-ups
    often set ``TPU_NAME``. ``/dev/vfio/vfio`` alone is ordinary Linux and not a hint.
    """
    for variable in ("COLAB_TPU_ADDR", "TPU_NAME"):
        if os.environ.get(variable):
            return f"${variable} is set"
    if glob.glob("/dev/accel[0-9]*"):
        return "/dev/accel* exists"
    if any(os.path.basename(p).isdigit() for p in glob.glob("/dev/vfio/*")):
        return "/dev/vfio/<N> exists"
    return None


def _nvidia_gpus(timeout_s: float = 5.0) -> list[str]:
    """GPU names from ``nvidia-smi -L``; an empty list when there is none or it fails."""
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return []
    try:
        result = subprocess.run(
            [binary, "-L"], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if result.returncode != 0:
        return []
    names = []
    for line in result.stdout.splitlines():
        # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"
        if line.startswith("GPU ") and ":" in line:
            names.append(line.split(":", 1)[1].split("(UUID", 1)[0].strip())
    return names


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def describe() -> str:
    """Describe the accelerator in one short phrase, without importing any framework.

    Why: the setup cell reports the hardware in every lab, and importing TensorFlow
    just to find out would cost seconds in labs that never use it.

    Returns:
        ``"TPU (Colab/Cloud TPU VM)"``, ``"GPU (NVIDIA ...)"`` (with ``× N`` for
        several) or ``"CPU (N cores)"``.
    """
    if _tpu_hint() is not None:
        return "TPU (Colab/Cloud TPU VM)"
    gpus = _nvidia_gpus()
    if gpus:
        suffix = f" × {len(gpus)}" if len(gpus) > 1 else ""
        return f"GPU ({gpus[0]}{suffix})"
    cores = _cpu_count()
    return f"CPU ({cores} core{'s' if cores != 1 else ''})"


def _report(message: str, verbose: bool) -> None:
    logger.info(message)
    if verbose:
        print(message)


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def tf_strategy(tpu: str | None = "local", *, verbose: bool = True) -> tf.distribute.Strategy:
    """Return the best TensorFlow distribution strategy: TPU, then GPU(s), then CPU.

    Why a strategy and not a device: ``with strategy.scope(): model = ...`` is the
    one code path that runs unchanged on a TPU (``TPUStrategy``), several GPUs
    (``MirroredStrategy``, synchronous data parallelism), one GPU and a CPU.

    Order and fall-backs:

    1. TPU: ``TPUClusterResolver(tpu=tpu)``, connect, ``initialize_tpu_system``,
       ``TPUStrategy``. Without a TPU this raises (``ValueError`` when no TPU name
       is known, ``NotFoundError`` "TPUs not found" for ``"local"``) within a
       fraction of a second; the error is caught and the next option is tried.
    2. GPU: ``MirroredStrategy()`` over all GPUs when there are two or more,
       ``OneDeviceStrategy("/gpu:0")`` for one.
    3. CPU: the default strategy (``tf.distribute.get_strategy()``).

    One line says which was chosen and why the others were not.

    Args:
        tpu: the TPU to connect to. ``"local"`` (default) is a TPU attached to this
            VM (Colab TPU runtime, Cloud TPU VM); a name or ``grpc://`` address
            selects a remote TPU; ``None`` lets the resolver read ``TPU_NAME`` /
            ``COLAB_TPU_ADDR`` from the environment.
        verbose: print the one-line explanation (it is always logged).

    Returns:
        A ``tf.distribute.Strategy``.

    Raises:
        TypeError: if ``tpu`` is neither a string nor None, or ``verbose`` not a bool.
        ValueError: if ``tpu`` is an empty string.
        ImportError: if TensorFlow is not installed (``pip install "ds500[tf]"``).
    """
    if tpu is not None and not isinstance(tpu, str):
        raise TypeError(f"tpu must be a TPU name such as 'local', or None; got {tpu!r}")
    if isinstance(tpu, str) and not tpu.strip():
        raise ValueError(
            "tpu must not be empty: use 'local' for a TPU on this VM, a TPU name, or None "
            "to read TPU_NAME from the environment"
        )
    _check_flag("verbose", verbose)
    tf = _import_framework("tensorflow", "tf_strategy needs TensorFlow", "tf")

    why_not_tpu: str
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    except ValueError as error:
        why_not_tpu = f"no TPU ({_first_line(error)})"
    except tf.errors.NotFoundError as error:
        why_not_tpu = f"no TPU ({_first_line(error)})"
    except Exception as error:  # noqa: BLE001 - any TPU failure means "use something else"
        why_not_tpu = f"TPU failed ({type(error).__name__}: {_first_line(error)})"
    else:
        _report(
            f"Using TPUStrategy with {strategy.num_replicas_in_sync} TPU cores (tpu={tpu!r}).",
            verbose,
        )
        return strategy

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= 2:
        strategy = tf.distribute.MirroredStrategy()
        _report(f"Using MirroredStrategy over {len(gpus)} GPUs; {why_not_tpu}.", verbose)
        return strategy
    if len(gpus) == 1:
        strategy = tf.distribute.OneDeviceStrategy("/gpu:0")
        _report(f"Using OneDeviceStrategy('/gpu:0'); {why_not_tpu}.", verbose)
        return strategy
    strategy = tf.distribute.get_strategy()
    _report(
        f"Using the default strategy on the CPU; {why_not_tpu}; TensorFlow sees no GPU.",
        verbose,
    )
    return strategy


def _import_framework(module: str, need: str, extra: str) -> Any:
    """Import a framework on first use, or say which ``ds500`` extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f'{need}: pip install "ds500[{extra}]" (Colab already has it)') from error


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    first = lines[0].split(". ", 1)[0].rstrip(".")  # the first sentence is enough
    return first[:120]


def torch_device(*, verbose: bool = True) -> torch.device:
    """Return the best PyTorch device: CUDA, then XLA (TPU), then Apple MPS, then CPU.

    Why: ``model.to(device)`` and ``batch.to(device)`` are all a PyTorch lab needs to
    run on whatever hardware it gets; the printed line says why.

    Args:
        verbose: print the one-line explanation (it is always logged).

    Returns:
        ``torch.device("cuda")``, an XLA device, ``torch.device("mps")`` or
        ``torch.device("cpu")``.

    Raises:
        TypeError: if ``verbose`` is not a bool.
        ImportError: if torch is not installed (``pip install "ds500[torch]"``).
    """
    _check_flag("verbose", verbose)
    torch = _import_framework("torch", "torch_device needs PyTorch", "torch")

    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        name = torch.cuda.get_device_name(0)
        _report(f"Using CUDA: {name}" + (f" (1 of {count} GPUs)" if count > 1 else "") + ".", verbose)
        return torch.device("cuda")

    why = ["no CUDA GPU"]
    import importlib.util

    if importlib.util.find_spec("torch_xla") is not None:
        try:
            import torch_xla

            if hasattr(torch_xla, "device"):
                device = torch_xla.device()
            else:  # torch_xla < 2.5
                import torch_xla.core.xla_model as xm

                device = xm.xla_device()
        except Exception as error:  # noqa: BLE001 - no TPU behind torch_xla: keep looking
            why.append(f"torch_xla found no XLA device ({type(error).__name__})")
        else:
            _report(f"Using the XLA device {device} (TPU via torch_xla); {why[0]}.", verbose)
            return device
    else:
        why.append("torch_xla not installed")

    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        _report(f"Using Apple MPS; {', '.join(why)}.", verbose)
        return torch.device("mps")
    why.append("no Apple MPS")
    _report(f"Using the CPU; {', '.join(why)}.", verbose)
    return torch.device("cpu")
