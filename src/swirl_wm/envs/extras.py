"""Optional packages behind the install extras (``pyproject.toml``): imported only when an environment or a
metric that needs one is used, with an error that names the extra to install.

``pip install swirl-wm`` is the training core (SWIRL on the physics world, your own logs, recorded data);
``[scienceworld]``, ``[web]`` (MiniWoB++), ``[agents]`` (TextWorldExpress), ``[embeddings]`` (embedding
similarity), ``[visual]`` (the image tokenizer and PSNR/SSIM for ``data.modality: image``), ``[alfworld]`` and
``[all]`` add the rest. ``make install`` installs every extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType


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
