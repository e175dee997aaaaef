"""LLM agents in text environments: the episode's chat layout (:mod:`.chat`) and token-level rollouts
(:mod:`.rollouts`) that GRPO / PaW training and agent evaluation share."""
