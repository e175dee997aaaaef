"""The training backend: every use of TRL's trainers sits here, behind three entry points.

- :func:`~swirl_wm.backend.sft.train_sft` — SFT warm start of one or both world-model roles (TRL ``SFTTrainer``);
- :func:`~swirl_wm.backend.grpo.train_grpo` — one SWIRL phase, GRPO on one role against the frozen other
  (TRL ``GRPOTrainer``);
- :func:`~swirl_wm.backend.paw.train_paw` — GRPO on agent trajectories with PaW's world-model loss.

Recipes (:mod:`swirl_wm.recipes`) call these; evaluation never imports the backend, nor the backend
evaluation (import-linter contract in ``pyproject.toml``). TRL arguments are built in :mod:`.args`;
checkpoints are saved merged and atomically by :mod:`.checkpoints`.
"""
