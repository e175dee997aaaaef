"""swirl-wm: teach language models to be world models of an environment from logs of states alone.

Implements SWIRL (Qiu et al., arXiv:2602.06130): a forward world model (FWM) ``P_θ(y | x, z)`` and an
inverse dynamics model (IDM) ``Q_φ(z | x, y)``, warm-started by SFT and improved in turn with GRPO on
unlabelled transitions.
"""

__version__ = "0.1.0"

__all__ = ["InferredAction", "WorldModel", "load_world_model"]


def __getattr__(name: str):
    """Lazy exports (importing ``swirl_wm`` stays cheap: torch and transformers load on first use).

    ``WorldModel`` and ``InferredAction`` (models/world_model.py); ``load_world_model(run_dir, phase)``
    (evaluation/run_eval.py).
    """
    if name in ("WorldModel", "InferredAction"):
        from swirl_wm.models import world_model

        return getattr(world_model, name)
    if name == "load_world_model":
        from swirl_wm.evaluation.run_eval import load_world_model

        return load_world_model
    raise AttributeError(f"module 'swirl_wm' has no attribute {name!r}")
