"""Recipes: short programs that read top to bottom in the method's order, on top of the shared components
(data, models, objectives, backend, evaluation, reporting) and the run folder.

- :mod:`.swirl` — the SWIRL loop (``swirl train``, ``swirl demo``): data → SFT → Phase I ↔ Phase II →
  evaluation → report, with its stages in :mod:`.stages` and :mod:`.data`;
- :mod:`.baselines` — the comparisons on the same data and budget (bootstrap, oracle, best-of-N, trivial);
- :mod:`.paw` — an agent run (``swirl paw``): walkthrough SFT → GRPO ± PaW → success rate.
- :mod:`.bench` — the seeded benchmark (``swirl bench``): seeds × variants of a config → JSON and tables in a
  study folder;
- :mod:`.diagnose` — the reward-signal checks of a finished run (``swirl diagnose``), with the functions and
  seeds of the run's own checks.
"""
