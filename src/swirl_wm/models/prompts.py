"""Prompt builders for the two roles of SWIRL (arXiv:2602.06130 §3.1).

- FWM ``P_θ(y | x, z)``: prompt from the prior state and the action; the completion is the next state.
- IDM ``Q_φ(z | x, y)``: prompt from the prior and the next state; the completion is the action.

With a chat template the prompt is a system + user turn and ``add_generation_prompt=True``; without one it
is plain text. A run's :class:`PromptFormat` (its task description, and whether the IDM also reads the
word-level changes from x to y) goes into every prompt of both roles, and is saved beside each checkpoint
(``prompt_format.json``) so that a model is always prompted as it was trained.

Every completion ends with the tokenizer's EOS token, in SFT targets and in scored spans
alike, so that training, generation and scoring see the same token sequence.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from swirl_wm.modality import StateModality, modality_of
from swirl_wm.modality.changes import apply_changes, state_changes
from swirl_wm.records import FWM, IDM, Role, Transition

FORMAT_FILE = "prompt_format.json"
MODALITY_FOLDER = "modality"  # a checkpoint's copy of its modality's folder (the image codec)
# Words the prompts add to the states' own text (the small preset's tokenizer is trained on them too).
PROMPT_WORDS = "State: Action: Next state: Changes: [ -> ] ( +1, -1) none"


@dataclass(frozen=True)
class PromptFormat:
    """How a run lays out its prompts and the FWM's target (config: ``data.description``, ``model.idm_diff``,
    ``data.modality``, ``model.fwm_target``).

    Attributes:
        description: a task / environment description put before each role's instruction; None = none.
        idm_diff: the IDM's prompt also lists the changes from x to y (the modality's ``diff``; for text
            the word-level changes, :func:`~swirl_wm.modality.text.state_diff`), so
            that a small model need not learn to align two long states before it can name the action.
            Still a function of ``(x, y)`` only, so ``Q_φ(z | x, y)`` and both SWIRL rewards keep their
            meaning. Source: this project's measurement (not in the paper): a 4-layer IDM trained on 400
            transitions without it reached 7–24 % grounded accuracy on physics.
        modality: the states' modality (``data.modality``; :mod:`swirl_wm.modality`).
        modality_folder: for a modality made from a folder the run writes (``image``: the run's codec),
            that folder; else None. A checkpoint keeps its own copy (``modality/``, saved relative).
        fwm_target: what the FWM writes for a next state ``y``: ``"state"``, ``y`` itself (paper), or
            ``"changes"``, for JSON states, a patch of ``x`` (:mod:`swirl_wm.modality.changes`); see
            :meth:`fwm_completion` and :meth:`next_state`.
        idm_next_state: the IDM's prompt holds ``y`` in full (paper); False, with ``idm_diff``, lists ``x`` and
            the changes from x to y only (shorter, still a function of ``(x, y)``). Source: this project's measurement
            (not in the paper): on BFCL's JSON states x, y and the changes made a prompt of ≈ 800 small-tier
            tokens, some cut at ``sft.max_length``; x and the changes (which still determine y) are about half.
    """

    description: str | None = None
    idm_diff: bool = False
    modality: str = "text"
    modality_folder: str | None = None
    fwm_target: str = "state"
    idm_next_state: bool = True

    def fwm_completion(self, x: str, y: str) -> str:
        """The text the FWM is trained to write, and scored on, for the transition ``x → y`` (SFT targets,
        the FWM's log-likelihood, the Phase II reward ``log P_θ(y | x, z)``): ``y``, or with ``fwm_target:
        changes`` the patch from ``x`` to ``y`` (a bijection given ``x``, so ``P_θ(y | x, z)`` keeps its
        meaning).

        Raises:
            ValueError: with ``changes``, ``x`` or ``y`` is not a JSON document.
        """
        return state_changes(x, y) if self.fwm_target == "changes" else y

    def target(self, role: Role, t: Transition) -> str:
        """What ``role`` is trained to write for ``t``, and scored on: the FWM's :meth:`fwm_completion` of
        ``x → y``, the IDM's action ``z``.

        Raises:
            ValueError: ``t`` has no action, or as :meth:`fwm_completion`.
        """
        written = role.written(t)
        if written is None:
            raise ValueError(f"episode {t.episode_id} step {t.step} has no action z")
        return self.fwm_completion(t.x, written) if role.writes_state else written

    def next_state(self, x: str, completion: str) -> str:
        """The next state ``ŷ`` that an FWM completion describes: the completion, or with ``fwm_target:
        changes`` ``x`` patched by it; a completion that is not a well-formed patch is read as the empty
        patch, no change (``ŷ = x``), in evaluation, rollouts and the Phase I reward alike, and counted by
        ``fwm/well_formed`` (measured: the small tier's BFCL FWM writes 40 % well-formed patches, 42 % of
        them exactly right)."""
        if self.fwm_target != "changes":
            return completion
        try:
            return apply_changes(x, completion)
        except ValueError:
            return x

    @property
    def state_modality(self) -> StateModality:
        """The :class:`~swirl_wm.modality.base.StateModality` of these prompts' states.

        Raises:
            ValueError / FileNotFoundError: as :func:`~swirl_wm.modality.modality_of`.
        """
        return modality_of(self.modality, self.modality_folder)

    def save(self, folder: Path) -> None:
        """Write ``prompt_format.json`` into a checkpoint folder, with a copy of the modality's folder (the
        image codec, a few hundred kB) beside it, so that a checkpoint folder is complete on its own."""
        fmt = self
        if self.modality_folder is not None:
            target = Path(folder) / MODALITY_FOLDER
            if Path(self.modality_folder).resolve() != target.resolve():
                shutil.copytree(self.modality_folder, target, dirs_exist_ok=True)
            fmt = replace(self, modality_folder=MODALITY_FOLDER)
        (Path(folder) / FORMAT_FILE).write_text(json.dumps(asdict(fmt), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> PromptFormat:
        """The format saved in a checkpoint folder; the plain format when the folder has none (a model that
        swirl-wm did not train, or a checkpoint from before the file existed).

        Raises:
            ValueError: the file is not a JSON object of this class's fields.
        """
        path = Path(folder) / FORMAT_FILE
        if not path.exists():
            return cls()
        try:
            fmt = cls(**json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"{path}: not a prompt format ({err}); expected keys description, idm_diff, "
                             "modality, modality_folder, fwm_target, idm_next_state") from err
        if fmt.modality_folder is not None and not Path(fmt.modality_folder).is_absolute():
            fmt = replace(fmt, modality_folder=str((Path(folder) / fmt.modality_folder).resolve()))
        return fmt


PLAIN = PromptFormat()  # no description, no list of changes


def _user_text(role: Role, x: str, other: str, fmt: PromptFormat) -> str:
    lines = [f"State: {x}"]
    if role.writes_state or fmt.idm_next_state:  # what the role conditions on, under the other role's header
        lines.append(f"{role.other.header} {other}")
    if not role.writes_state and fmt.idm_diff:
        lines.append(f"Changes: {fmt.state_modality.diff(x, other)}")
    return "\n".join(lines)


def system_text(role: Role | str, description: str | None = None) -> str:
    """The system message of ``role`` (a :class:`~swirl_wm.records.Role` or its name): the optional task /
    environment description, then the role's instruction (``data.description`` in a run config).

    Raises:
        ValueError: unknown role.
    """
    instruction = Role.of(role).instruction
    return f"{description.strip()}\n{instruction}" if description and description.strip() else instruction


def build_prompt(tokenizer: PreTrainedTokenizerBase, role: Role | str, x: str, other: str,
                 fmt: PromptFormat = PLAIN) -> str:
    """The prompt text of ``role`` (a :class:`~swirl_wm.records.Role` or its name, ``"fwm"`` / ``"idm"``):
    FWM conditions on ``(x, z=other)``, IDM on ``(x, y=other)``.

    Args:
        fmt: the run's prompt format (task description; the IDM's list of changes).

    Raises:
        ValueError: unknown role.
    """
    role = Role.of(role)
    user = _user_text(role, x, other, fmt)
    system = system_text(role, fmt.description)
    if tokenizer.chat_template:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    # End on a token boundary (a newline), never on a space: a trailing space merges with the completion's first
    # word when prompt + completion are tokenized together (TRL's SFT), so training would see ":" + " cool" while
    # generation and scoring see ":" + " " + "cool" — the deciding first token of every action untrained in the
    # context used at inference (measured: with a trailing space the small IDM answered "heat" for every "cool").
    return f"{system}\n{user}\n{role.header}\n"


def role_prompt(tokenizer: PreTrainedTokenizerBase, role: Role, t: Transition, fmt: PromptFormat = PLAIN) -> str:
    """The prompt of ``role`` for transition ``t``: ``x`` and what the role conditions on
    (:meth:`~swirl_wm.records.Role.given`).

    Raises:
        ValueError: the FWM's prompt of a transition without an action.
    """
    given = role.given(t)
    if given is None:
        raise ValueError(f"episode {t.episode_id} step {t.step} has no action z for the FWM's prompt")
    return build_prompt(tokenizer, role, t.x, given, fmt)


def fwm_prompt(tokenizer: PreTrainedTokenizerBase, x: str, z: str, fmt: PromptFormat = PLAIN) -> str:
    """Prompt of ``P_θ(y | x, z)``."""
    return build_prompt(tokenizer, FWM, x, z, fmt)


def idm_prompt(tokenizer: PreTrainedTokenizerBase, x: str, y: str, fmt: PromptFormat = PLAIN) -> str:
    """Prompt of ``Q_φ(z | x, y)``."""
    return build_prompt(tokenizer, IDM, x, y, fmt)


def completion(tokenizer: PreTrainedTokenizerBase, text: str) -> str:
    """A completion as trained and scored: the text followed by the EOS token."""
    return text + tokenizer.eos_token
