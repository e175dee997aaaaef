"""swirl-wm: teach language models to be world models of an environment from logs of states alone.

Implements SWIRL (Qiu et al., arXiv:2602.06130): a forward world model (FWM) ``P_θ(y | x, z)`` and an
inverse dynamics model (IDM) ``Q_φ(z | x, y)``, warm-started by SFT and improved in turn with GRPO on
unlabelled transitions.
"""

__version__ = "0.1.0"
