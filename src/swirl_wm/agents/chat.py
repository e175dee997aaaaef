"""The chat layout of an agent episode, shared by rollouts, walkthrough SFT examples and the policy's
world-model evaluation (method.md §2).

An episode ``o_0, a_0, o_1, a_1, …, o_T`` is ONE token sequence in the model's chat format:

    prompt      = [system][user: o_0][assistant-start]                   (the task text is part of o_0)
    completion  = [a_0][end, user-start][o_1][end, assistant-start][a_1] …

so that one forward pass over ``prompt + completion`` gives the policy's log-probs of every action token
and the model's prediction of every observation token given the history and the action before it
(PaW's ``[prompt_t][a_t][o_{t+1}]`` with ``prompt_t`` = the whole history). The chat template's own tokens
belong to neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from swirl_wm.records import Episode

AGENT_SYSTEM_PROMPT = ("You are an agent in a text environment. Read the goal and the observation, then answer "
                       "with one command and nothing else.")
# The chat template of a model whose tokenizer has none (the small tier, models/loading.py): plain labelled
# lines, each action closed by the end token as a chat model's turn is, so ChatPieces reads it like any other.
PLAIN_CHAT_TEMPLATE = (
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'system' -%}{{ m['content'] + '\n' }}"
    "{%- elif m['role'] == 'user' -%}{{ 'Observation: ' + m['content'] + '\n' }}"
    "{%- else -%}{{ 'Action: ' + m['content'] + eos_token + '\n' }}"
    "{%- endif -%}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'Action: ' }}{%- endif -%}")
PLAIN_CHAT_WORDS = "Observation: Action:"  # the template's own words, for a tokenizer trained on the run's text


@dataclass(frozen=True)
class ChatPieces:
    """The chat template's text around turns, found by rendering placeholders (any chat template)."""

    after_action: str  # after an assistant turn's content, up to a user turn's content
    after_observation: str  # after a user turn's content, up to the next assistant turn's content

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase) -> ChatPieces:
        marks = ("\x00A1\x00", "\x00U2\x00")
        text = tokenizer.apply_chat_template(
            [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
             {"role": "assistant", "content": marks[0]}, {"role": "user", "content": marks[1]}],
            tokenize=False, add_generation_prompt=True)
        after_action = text.split(marks[0], 1)[1].split(marks[1], 1)[0]
        if tokenizer.eos_token and after_action.startswith(tokenizer.eos_token):
            after_action = after_action[len(tokenizer.eos_token):]  # the action's own end token is generated
        return cls(after_action=after_action, after_observation=text.split(marks[1], 1)[1])

    def observation_turn(self, tokenizer: PreTrainedTokenizerBase, observation: str
                         ) -> tuple[list[int], list[int], list[int]]:
        """Token ids that follow an action's end token: template before ``o``, ``o`` itself, template after
        it (up to the next action). The one definition of the layout that rollouts, SFT examples and the
        world-model evaluation share."""
        return (encode(tokenizer, self.after_action), encode(tokenizer, observation),
                encode(tokenizer, self.after_observation))


def first_prompt_ids(tokenizer: PreTrainedTokenizerBase, observation: str) -> list[int]:
    """Token ids of ``[system][user: o_0][assistant-start]``."""
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": AGENT_SYSTEM_PROMPT}, {"role": "user", "content": observation}],
        tokenize=False, add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of ``text`` without special tokens (none for an empty text)."""
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def history_ids(tokenizer: PreTrainedTokenizerBase, observations: Sequence[str], actions: Sequence[str],
                pieces: ChatPieces | None = None) -> list[int]:
    """Token ids of an episode's history in the rollout layout, ending where the model writes next.

    With ``len(actions) == len(observations)`` the sequence ends after ``a_{t}`` and the template text that
    opens the next observation (the model's next tokens are ``o_{t+1}``: the world-model prompt); with one
    action fewer it ends at the start of the assistant's turn (the policy prompt).

    ``pieces`` (:meth:`ChatPieces.of` of ``tokenizer``) may be passed by callers that build many histories.

    Raises:
        ValueError: ``actions`` is not as long as ``observations`` or one shorter.
    """
    if len(observations) - len(actions) not in (0, 1) or not observations:
        raise ValueError(f"{len(observations)} observations and {len(actions)} actions do not form a history")
    pieces = pieces or ChatPieces.of(tokenizer)
    ids = first_prompt_ids(tokenizer, observations[0])
    for t, action in enumerate(actions):
        before, body, after = pieces.observation_turn(tokenizer, observations[t + 1] if t + 1 < len(observations)
                                                      else "")
        ids += encode(tokenizer, action) + [tokenizer.eos_token_id] + before
        if t + 1 < len(observations):
            ids += body + after
    return ids


def walkthrough_examples(tokenizer: PreTrainedTokenizerBase, episodes: Sequence[Episode]
                         ) -> list[dict[str, list[int]]]:
    """SFT examples of expert episodes, one per episode, in the rollout layout.

    ``input_ids`` is the whole episode ``[prompt][a_0][end][o_1][...][a_T][end]`` exactly as a rollout builds
    it, and ``completion_mask`` is 1 on the action tokens and their end token (what the policy generates:
    a rollout's ``action_mask``), 0 on the prompt, observations and template. TRL's SFT trains the masked
    tokens only, so one example teaches every step of the episode; the token count is linear in the
    episode's length, where one example per step (each with its whole history) is quadratic.

    Raises:
        ValueError: a transition has no action.
    """
    pieces = ChatPieces.of(tokenizer)
    examples = []
    for episode in episodes:
        ids = first_prompt_ids(tokenizer, episode.transitions[0].x)
        mask = [0] * len(ids)
        for t in episode.transitions:
            if t.z is None:
                raise ValueError(f"expert episode {episode.episode_id} step {t.step} has no action")
            action = encode(tokenizer, t.z) + [tokenizer.eos_token_id]
            ids, mask = ids + action, mask + [1] * len(action)
            if t is not episode.transitions[-1]:
                turn = [token for part in pieces.observation_turn(tokenizer, t.y) for token in part]
                ids, mask = ids + turn, mask + [0] * len(turn)
        examples.append({"input_ids": ids, "completion_mask": mask})
    return examples
