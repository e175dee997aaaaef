"""Prompt builders for the two roles of SWIRL (arXiv:2602.06130 §3.1).

- FWM ``P_θ(y | x, z)``: prompt from the prior state and the action; the completion is the next state.
- IDM ``Q_φ(z | x, y)``: prompt from the prior and the next state; the completion is the action.

With a chat template the prompt is a system + user turn and ``add_generation_prompt=True``; without one it
is plain text. Every completion ends with the tokenizer's EOS token, in SFT targets and in scored spans
alike, so that training, generation and scoring see the same token sequence.
"""

from __future__ import annotations

from typing import Literal

from transformers import PreTrainedTokenizerBase

Role = Literal["fwm", "idm"]
ROLES: tuple[Role, Role] = ("fwm", "idm")

# Short on purpose: every prompt token costs a forward pass in generation, scoring and training, and
# SmolLM2's template would otherwise insert its own ~20-token default system message.
SYSTEM = {
    "fwm": "Predict the next state after the action.",
    "idm": "Name the action that changed the state.",
}


def _user_text(role: Role, x: str, other: str) -> str:
    if role == "fwm":
        return f"State: {x}\nAction: {other}"
    return f"State: {x}\nNext state: {other}"


def system_text(role: Role, description: str | None = None) -> str:
    """The system message of ``role``: the optional task / environment description, then the role's
    instruction (``data.description`` in a run config)."""
    return f"{description.strip()}\n{SYSTEM[role]}" if description and description.strip() else SYSTEM[role]


def build_prompt(tokenizer: PreTrainedTokenizerBase, role: Role, x: str, other: str,
                 description: str | None = None) -> str:
    """The prompt text of ``role``: FWM conditions on ``(x, z=other)``, IDM on ``(x, y=other)``.

    Args:
        description: a task / environment description placed before the role's instruction.

    Raises:
        ValueError: unknown role.
    """
    if role not in SYSTEM:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    user = _user_text(role, x, other)
    system = system_text(role, description)
    if tokenizer.chat_template:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    target = "Next state:" if role == "fwm" else "Action:"
    return f"{system}\n{user}\n{target} "


def fwm_prompt(tokenizer: PreTrainedTokenizerBase, x: str, z: str, description: str | None = None) -> str:
    """Prompt of ``P_θ(y | x, z)``."""
    return build_prompt(tokenizer, "fwm", x, z, description)


def idm_prompt(tokenizer: PreTrainedTokenizerBase, x: str, y: str, description: str | None = None) -> str:
    """Prompt of ``Q_φ(z | x, y)``."""
    return build_prompt(tokenizer, "idm", x, y, description)


def completion(tokenizer: PreTrainedTokenizerBase, text: str) -> str:
    """A completion as trained and scored: the text followed by the EOS token."""
    return text + tokenizer.eos_token
