"""Optional packages behind the install extras (``pyproject.toml``): imported only when an environment or a
metric that needs one is used, with an error that names the extra to install.

``pip install swirl-wm`` is the training core (SWIRL on the physics world, your own logs, recorded data);
``[scienceworld]``, ``[web]`` (MiniWoB++), ``[agents]`` (TextWorldExpress), ``[embeddings]`` (embedding
similarity), ``[visual]`` (the image tokenizer and PSNR/SSIM for ``data.modality: image``), ``[smollm2]`` (the
GGUF reader of the ``smollm2`` and ``tiny`` presets), ``[report]`` (``plot.png`` and ``report.html``),
``[logging]`` (TensorBoard, the trainers' default logger), ``[alfworld]`` and ``[all]`` add the rest.
``make install`` installs every extra.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from types import ModuleType

LOGGER_EXTRAS = {"tensorboard": "logging"}  # a logger named in report_to -> the extra that installs it


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or explain which extra provides it.

    Raises:
        ImportError: ``module`` is not installed; the message names ``pip install 'swirl-wm[<extra>]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(f"this needs the '{module.split('.')[0]}' package, which is not installed: "
                          f"pip install 'swirl-wm[{extra}]' (or `make install`, which installs every extra)"
                          ) from err


def check_loggers(loggers: Iterable[str], field: str) -> None:
    """Fail before any work when a logger named in ``field`` (a config's ``report_to``) needs an extra that is
    not installed (wandb and trackio are the user's own installs, and TRL names them itself).

    Raises:
        ImportError: names ``pip install 'swirl-wm[<extra>]'`` and ``field: []`` as the two fixes.
    """
    for name in loggers:
        extra = LOGGER_EXTRAS.get(name)
        if extra is not None and importlib.util.find_spec(name) is None:
            raise ImportError(f"{field}: the {name!r} logger needs the {name!r} package, which is not installed: "
                              f"pip install 'swirl-wm[{extra}]', or set {field}: [] for no logger")
