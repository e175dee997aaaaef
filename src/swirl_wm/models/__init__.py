"""Models and roles: loading base models, FWM/IDM prompts, batched scoring and generation."""
