"""The registry of environments: every environment the SWIRL loop can generate transitions from, and what
evaluation knows about its states and actions, in one place.

Adding an environment is its module plus one :class:`EnvSpec` line in :data:`ENVIRONMENTS`. Its module
provides ``generate_episodes(config, seed) -> list[Episode]``, or an agent environment class (``agent``: an
:class:`~swirl_wm.envs.agent.AgentEnv` taking its config), or both. Its config class, named in the line,
becomes the run config's section named like the environment (``data.physics``, ``data.scienceworld``, ...;
for an agent environment also ``env.<name>`` of an agent run): :mod:`swirl_wm.config.schema` builds those
sections from this registry. An agent environment feeds the SWIRL loop too: its train tasks' expert
walkthroughs are its state logs (:func:`~swirl_wm.envs.agent.expert_episodes`; the seed plays no part there).
A module is imported when the config schema reads its config class; its optional package (install extra)
only on use, so a missing one is reported only when that environment is used.

The line also names the FWM's headline metric on the environment's states (``headline_fwm``: the metric
that picks the best phase by default); :func:`headline_fwm` answers it for any ``data.env``, a recorded data
set's (:data:`swirl_wm.data.importers.FORMATS`) and a user's own included.

Optional hooks, where the environment can check a prediction exactly:

- ``state_fields(text) -> {field: value}``: structured states, scored per field (field accuracy);
- ``apply(x, z) -> y``: executes an action (grounded accuracy of the IDM, the no-op baseline);
- ``noop_action``: the action that leaves only the passive dynamics (the no-op rule, effect accuracy);
- ``action_set(x) -> [z]``: the finite actions of a state (the normalised Phase I reward), in the wording
  the episodes use unless the config's ``reworded_by`` field says they are worded otherwise;
- ``render(x, config) -> (H, W, 3) uint8``: the state as a picture, for ``data.modality: image`` (the data
  stage trains the run's image tokenizer on these frames and writes each state as its codes);
- ``read_frame(frame, reference) -> {field: value}``: the inverse of ``render``, the fields (as
  ``state_fields`` names them) of the state a frame shows, on the geometry of the true state ``reference``:
  an image world model's decoded prediction scored on the objects (field accuracy of image states).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from swirl_wm.data.importers import FORMATS
from swirl_wm.envs.agent import AgentEnv, expert_episodes
from swirl_wm.envs.extras import require
from swirl_wm.glossary import DEFAULT_HEADLINE_FWM
from swirl_wm.modality import HEADLINE_FWM as MODALITY_HEADLINE_FWM
from swirl_wm.records import Episode


@dataclass(frozen=True)
class EnvSpec:
    """One live environment: its module (imported on use), the install extra and the import it needs (``None``:
    the core install has it), the names of its optional hooks in that module (``None``: it has none), and
    the metric key that headlines its FWM."""

    name: str
    module: str
    config: str  # the module's pydantic config class: the run config's section data.<name> (env.<name>)
    extra: str | None = None
    needs: str | None = None  # the optional package to import before the module
    state_fields: str | None = None
    apply: str | None = None
    noop_action: str | None = None
    action_set: str | None = None
    # a bool field of the config section that, when true, words the actions otherwise than action_set lists them
    reworded_by: str | None = None
    agent: str | None = None  # the module's AgentEnv class: `swirl paw` can train an agent in it
    render: str | None = None
    read_frame: str | None = None
    headline_fwm: str = DEFAULT_HEADLINE_FWM

    def _module(self) -> Any:
        self.check_installed()
        return importlib.import_module(self.module)

    def _hook(self, attribute: str | None) -> Any:
        return None if attribute is None else getattr(self._module(), attribute)

    @property
    def config_class(self) -> type:
        """The environment's config class (its module imported without its optional package, which the
        module imports on use)."""
        return getattr(importlib.import_module(self.module), self.config)

    def generate(self, config: Any, seed: int) -> list[Episode]:
        """The environment's episodes for its config section and seed (an agent environment without a
        generator of its own: its train tasks' expert walkthroughs, which its config decides).

        Raises:
            ImportError: its install extra is missing (the message names it).
        """
        module = self._module()
        if hasattr(module, "generate_episodes"):
            return module.generate_episodes(config, seed=seed)
        with self.make_agent(config) as env:
            return expert_episodes(env)

    def make_agent(self, config: Any) -> AgentEnv:
        """A new instance of the agent environment for its config section (close it, or use ``with``).

        Raises:
            ValueError: the environment is not an agent environment; ImportError: its install extra is missing.
        """
        if self.agent is None:
            raise ValueError(f"{self.name} is not an agent environment; agent environments: {', '.join(AGENTS)}")
        return getattr(self._module(), self.agent)(config)

    def check_installed(self) -> None:
        """Raises ImportError naming the install extra when the optional package is missing."""
        if self.extra is not None and self.needs is not None:
            require(self.needs, self.extra)

    @property
    def fields_of(self) -> Callable[[str], dict[str, str]] | None:
        return self._hook(self.state_fields)

    @property
    def apply_fn(self) -> Callable[[str, str], str] | None:
        return self._hook(self.apply)

    @property
    def render_fn(self) -> Callable[[str, Any], Any] | None:
        return self._hook(self.render)

    @property
    def read_frame_fn(self) -> Callable[[Any, str], dict[str, str]] | None:
        return self._hook(self.read_frame)

    @property
    def actions_of(self) -> Callable[[str], Sequence[str]] | None:
        return self._hook(self.action_set)

    def lists_actions(self, config: Any) -> bool:
        """Whether ``action_set`` lists the actions as the episodes of ``config`` (its section ``data.<name>``)
        word them: the environment has the hook, and the config does not reword them (``reworded_by``)."""
        return self.action_set is not None and not (self.reworded_by and getattr(config, self.reworded_by))


# The FWM's headline metric (glossary keys): the physics world's structured states are scored per field (this
# project), tool outputs with BLEU (the StableToolBench convention, SWIRL §4), web pages and text observations
# with ROUGE-L (SWIRL §4: ScienceWorld, Mind2Web; the default).
ENVIRONMENTS: dict[str, EnvSpec] = {s.name: s for s in (
    EnvSpec("physics", "swirl_wm.envs.physics", "PhysicsWorldConfig", state_fields="state_fields", apply="apply",
            noop_action="wait", action_set="action_set", reworded_by="paraphrased", headline_fwm="fwm/field_accuracy"),
    EnvSpec("scienceworld", "swirl_wm.envs.scienceworld", "ScienceWorldConfig", extra="scienceworld",
            needs="scienceworld", agent="ScienceWorld"),
    EnvSpec("bfcl", "swirl_wm.envs.bfcl", "BFCLConfig", headline_fwm="fwm/bleu"),
    EnvSpec("miniwob", "swirl_wm.envs.miniwob", "MiniWoBConfig", extra="web", needs="miniwob"),
    EnvSpec("textworld_express", "swirl_wm.envs.textworld_express", "TextWorldExpressConfig", extra="agents",
            needs="textworld_express", agent="TextWorldExpress"),
    EnvSpec("alfworld", "swirl_wm.envs.alfworld", "ALFWorldConfig", extra="alfworld", needs="alfworld",
            agent="ALFWorld"),
    EnvSpec("physics_goal", "swirl_wm.envs.physics_goal", "PhysicsGoalConfig", agent="PhysicsGoal"),
    EnvSpec("shapes", "swirl_wm.envs.shapes", "ShapesWorldConfig", state_fields="state_fields", apply="apply",
            render="render_state", read_frame="frame_fields", headline_fwm="fwm/field_accuracy"),
)}
AGENTS = tuple(name for name, s in ENVIRONMENTS.items() if s.agent is not None)  # what `swirl paw` can train in


def env_spec(name: str | None) -> EnvSpec | None:
    """The registered environment called ``name`` (``None`` for a file format, a user's env name or ``None``)."""
    return ENVIRONMENTS.get(name) if name is not None else None


def headline_fwm(env: str | None, modality: str = "text") -> str:
    """The metric key that headlines the FWM on the states of environment ``env`` (a registered environment,
    a recorded data set, a user's own env name or ``None``) in ``modality``: the modality's own where it has
    one (image states: ``"fwm/code_match"``), else the environment's registry line's or importer's
    (``"fwm/field_accuracy"`` for physics, ``"fwm/bleu"`` for tool outputs), else ``"fwm/rouge_l"``.

    Source: StableToolBench (BLEU for tool outputs) and SWIRL §4 (ROUGE-L for text environments).
    """
    if modality in MODALITY_HEADLINE_FWM:
        return MODALITY_HEADLINE_FWM[modality]
    if env in ENVIRONMENTS:
        return ENVIRONMENTS[env].headline_fwm
    if env in FORMATS:
        return FORMATS[env].headline_fwm
    return DEFAULT_HEADLINE_FWM
