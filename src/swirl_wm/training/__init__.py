"""Training: SFT warm start, the SWIRL phases (one GRPO runner parametrised by role) and the loop."""
