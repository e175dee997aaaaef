"""Agent rollouts at token level and the GRPO(+PaW) trainer on a toy text game with the tiny model."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset

from swirl_wm.agents.chat import ChatPieces, history_ids, walkthrough_examples
from swirl_wm.agents.rollouts import Rollout, play_episodes
from swirl_wm.backend.args import grpo_args
from swirl_wm.backend.paw import AgentGRPOTrainer, paw_targets
from swirl_wm.config import GRPOPhaseConfig, PaWConfig, RolloutConfig
from swirl_wm.envs.agent import AgentEnv, AgentTask, StepResult
from swirl_wm.records import Episode, Transition


class DoorGame(AgentEnv):
    """Open the door named in the goal: 'open red' wins; anything else gets 'Nothing happens.'"""

    name = "doors"

    def __init__(self, max_steps: int = 3, lenient: bool = False) -> None:
        super().__init__(max_steps)
        self._colour = ""
        self.lenient = lenient  # also won by any action of even length: random policies then win half the time

    def tasks(self, split):
        colours = {"train": ["red", "blue"], "dev": ["green"], "test": ["black"]}[split]
        return [AgentTask(self.name, f"door-{c}", split, f"Open the {c} door.", i) for i, c in enumerate(colours)]

    def _reset(self, task):
        self._colour = task.goal.split()[2]
        return f"{task.goal} You see doors."

    def _step(self, action):
        won = action.strip().lower() == f"open {self._colour}" or (self.lenient and len(action) % 2 == 0)
        return StepResult("The door opens." if won else "Nothing happens.", float(won), won, won)

    def admissible_actions(self):
        return [f"open {c}" for c in ("red", "blue", "green", "black")]

    def walkthrough(self, task):
        return [f"open {task.goal.split()[2]}"]

    def close(self):
        pass


def test_chat_pieces_wrap_turns_like_the_template(tiny) -> None:
    _, tokenizer = tiny
    pieces = ChatPieces.of(tokenizer)
    assert "user" in pieces.after_action and "assistant" in pieces.after_observation
    assert not pieces.after_action.startswith(tokenizer.eos_token)


def test_rollouts_label_action_and_observation_tokens(tiny) -> None:
    model, tokenizer = tiny
    torch.manual_seed(0)
    env_tasks = DoorGame().tasks("train")
    envs = [DoorGame(max_steps=3) for _ in range(4)]
    rollouts = play_episodes(model, tokenizer, envs, [env_tasks[0]] * 2 + [env_tasks[1]] * 2, max_steps=3,
                             max_action_tokens=6, max_observation_chars=100, max_context_tokens=1024,
                             temperature=1.0, top_p=1.0)
    assert not model.training or model.training  # mode restored (the tiny fixture is in eval mode)
    for r in rollouts:
        n = len(r.completion_ids)
        assert n == len(r.logprobs) == len(r.action_mask) == len(r.observation_step)
        assert 1 <= len(r.actions) <= 3 and len(r.action_entropy) == len(r.actions)
        assert len(r.observations) == len(r.actions) + 1
        # the observation tokens of step t decode to o_{t+1}
        for t, observation in enumerate(r.observations[1:]):
            ids = [i for i, s in zip(r.completion_ids, r.observation_step, strict=True) if s == t]
            assert tokenizer.decode(ids) == observation
        # action tokens carry their sampling log-probs; nothing else does
        assert all(lp <= 0 for lp, m in zip(r.logprobs, r.action_mask, strict=True) if m)
        assert all(lp == 0 for lp, m in zip(r.logprobs, r.action_mask, strict=True) if not m)
        assert not any(m and s >= 0 for m, s in zip(r.action_mask, r.observation_step, strict=True))
        assert all(e >= 0 for e in r.action_entropy)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_episode_kv_cache_plays_like_the_batch_path(tiny, temperature: float) -> None:
    """Reusing each episode's KV cache changes the cost, not the policy: greedy play gives the same tokens,
    and the log-probs / entropies of the same tokens agree to float precision."""
    model, tokenizer = tiny
    tasks = DoorGame().tasks("train")
    played = {}
    for mode in ("batch", "episode"):
        torch.manual_seed(0)
        played[mode] = play_episodes(model, tokenizer, [DoorGame(max_steps=4) for _ in range(3)],
                                     [tasks[0], tasks[1], tasks[0]], max_steps=4, max_action_tokens=5,
                                     max_observation_chars=100, max_context_tokens=1024, temperature=temperature,
                                     top_p=1.0, kv_cache=mode)
    for a, b in zip(played["batch"], played["episode"], strict=True):
        assert a.cache is None and b.cache is None  # freed when the episodes end
        if temperature == 0.0:
            assert a.completion_ids == b.completion_ids and a.actions == b.actions
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
            assert a.action_entropy == pytest.approx(b.action_entropy, abs=1e-4)
        assert len(b.completion_ids) == len(b.logprobs) == len(b.action_mask) == len(b.observation_step)
    with pytest.raises(ValueError, match="kv_cache"):
        play_episodes(model, tokenizer, [DoorGame()], tasks[:1], max_steps=1, max_action_tokens=2,
                      max_observation_chars=10, max_context_tokens=64, temperature=0.0, top_p=1.0, kv_cache="x")


def test_walkthrough_example_is_the_episode_with_its_actions_masked_in(tiny) -> None:
    _, tokenizer = tiny
    steps = [("Kitchen. Goal: eat.", "take apple", "You take the apple."),
             ("You take the apple.", "eat apple", "You win.")]
    episode = Episode("e0", "game", tuple(Transition(x=x, z=z, y=y, episode_id="e0", step=i)
                                          for i, (x, z, y) in enumerate(steps)))
    [example] = walkthrough_examples(tokenizer, [episode])
    ids, mask = example["input_ids"], example["completion_mask"]
    assert len(ids) == len(mask)
    # the sequence is the rollout layout: the history up to o_1 is a prefix, and it ends at a_1's end token
    prefix = history_ids(tokenizer, ["Kitchen. Goal: eat.", "You take the apple."], ["take apple"])
    assert ids[:len(prefix)] == prefix and ids[-1] == tokenizer.eos_token_id
    # the masked-in tokens are exactly the two actions, each closed by the end token
    trained = [i for i, m in zip(ids, mask, strict=True) if m]
    eos = tokenizer.eos_token
    assert tokenizer.decode(trained) == f"take apple{eos}eat apple{eos}"
    with pytest.raises(ValueError, match="no action"):
        unlabelled = Transition(x="a", z=None, y="b", episode_id="e1", step=0)
        walkthrough_examples(tokenizer, [Episode("e1", "game", (unlabelled,))])


def _rollout(entropies: list[float], episode_return: float) -> Rollout:
    steps = [t for t in range(len(entropies)) for _ in range(2)]  # two observation tokens per step
    return Rollout(task_id="t", prompt_ids=[1], completion_ids=[0] * len(steps), observation_step=steps,
                   action_entropy=entropies, episode_return=episode_return)


def test_paw_targets_select_by_entropy_and_weight_by_return() -> None:
    rollouts = [_rollout([0.1, 0.9], 1.0), _rollout([0.5, 0.2], 0.0),  # group 0: mean return 0.5
                _rollout([0.3, 0.4], 0.0), _rollout([0.8, 0.7], 0.0)]  # group 1: mean return 0
    wm_step, lambdas, groups = paw_targets(rollouts, 2, PaWConfig(alpha=0.75), r_max=1.0)
    # group 0 steps by entropy: 0.9 (r0 t1), 0.5 (r1 t0), 0.2 (r1 t1), 0.1 (r0 t0) → keep ceil(0.75·4) = 3
    assert wm_step[0] == [-1, -1, 1, 1] and wm_step[1] == [0, 0, 1, 1]
    assert wm_step[2] == [-1, -1, 1, 1] and wm_step[3] == [0, 0, 1, 1]
    assert lambdas == [0.5, 0.5, 1.0, 1.0] and groups == [0, 0, 1, 1]
    _, flat, _ = paw_targets(rollouts, 2, PaWConfig(reward_adaptive=False), r_max=1.0)
    assert flat == [1.0] * 4
    every, _, _ = paw_targets(rollouts, 2, PaWConfig(alpha=1.0), r_max=1.0)
    assert every == [r.observation_step for r in rollouts]
    with pytest.raises(ValueError, match="groups of 3"):
        paw_targets(rollouts, 3, PaWConfig(), r_max=1.0)


def test_paw_targets_see_whole_groups_across_processes() -> None:
    """Two processes of two rollouts each, groups of 4: each process's share equals the one-process answer."""
    rollouts = [_rollout([0.1, 0.9], 1.0), _rollout([0.5, 0.2], 0.0), _rollout([0.6, 0.4], 0.0),
                _rollout([0.8, 0.7], 0.0)]
    whole = paw_targets(rollouts, 4, PaWConfig(alpha=0.5), r_max=1.0)
    scores = [(r.action_entropy, r.episode_return) for r in rollouts]  # what gather_object returns
    for rank in (0, 1):
        mine = rollouts[2 * rank:2 * rank + 2]
        part = paw_targets(mine, 4, PaWConfig(alpha=0.5), r_max=1.0, scores=scores, offset=2 * rank)
        assert part == tuple(column[2 * rank:2 * rank + 2] for column in whole)
    # process 1 alone would drop r2's step 0 (its half's top two are r3's) and weigh its return 0 as λ = 1
    alone = paw_targets(rollouts[2:], 2, PaWConfig(alpha=0.5), r_max=1.0)
    assert whole[0][2] == [0, 0, -1, -1] and alone[0][0] == [-1, -1, -1, -1]
    assert whole[1] == [0.75] * 4 and alone[1] == [1.0, 1.0]


@pytest.mark.slow
@pytest.mark.parametrize("paw", [False, True])
def test_two_training_steps(tiny_path, tmp_path, paw: bool) -> None:
    game = DoorGame()
    tasks = {t.task_id: t for t in game.tasks("train")}
    config = GRPOPhaseConfig(learning_rate=1e-4, num_generations=2, per_device_train_batch_size=4, max_steps=2,
                             max_completion_length=64, beta=0.0, temperature=1.0, top_p=1.0)
    args = grpo_args(config, tmp_path / "logs", seed=0)
    from swirl_wm.models.loading import load_tokenizer

    trainer = AgentGRPOTrainer(
        env_factory=lambda: DoorGame(max_steps=2, lenient=True), tasks=tasks,
        rollout=RolloutConfig(max_steps=2, max_action_tokens=4, max_context_tokens=512),
        paw=PaWConfig(enabled=paw, loss="mae_count_low"), model=tiny_path, args=args,
        train_dataset=Dataset.from_list([{"prompt": task_id} for task_id in tasks]),
        processing_class=load_tokenizer(tiny_path))
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    history = [h for h in trainer.state.log_history if "loss" in h and "train_runtime" not in h]
    assert len(history) == 2 and all(math.isfinite(h["loss"]) for h in history)
    assert ("paw/wm_loss" in history[0]) == paw
    assert len(trainer.rollout_stats) == 2 and all(0 <= s["success_rate"] <= 1 for s in trainer.rollout_stats)
    assert any(h["reward_std"] > 0 for h in history)  # the lenient game gives the groups a spread
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())


@pytest.mark.slow
def test_paw_term_is_the_world_model_loss_when_rewards_are_flat(tiny_path, tmp_path) -> None:
    """No reward spread → zero advantages → the logged loss is PaW's term alone: with λ = 1, α = 1 and one
    step per episode it is the mean WM loss over the steps."""
    from swirl_wm.models.loading import load_tokenizer

    game = DoorGame()
    tasks = {t.task_id: t for t in game.tasks("train")}
    config = GRPOPhaseConfig(learning_rate=1e-4, num_generations=2, per_device_train_batch_size=4, max_steps=1,
                             max_completion_length=64, beta=0.0, temperature=1.0, top_p=1.0)
    trainer = AgentGRPOTrainer(
        env_factory=lambda: DoorGame(max_steps=1), tasks=tasks,
        rollout=RolloutConfig(max_steps=1, max_action_tokens=4, max_context_tokens=512),
        paw=PaWConfig(loss="ce", alpha=1.0, reward_adaptive=False), model=tiny_path,
        args=grpo_args(config, tmp_path / "logs", seed=0),
        train_dataset=Dataset.from_list([{"prompt": task_id} for task_id in tasks]),
        processing_class=load_tokenizer(tiny_path))
    trainer.train()
    step = next(h for h in trainer.state.log_history if "loss" in h and "train_runtime" not in h)
    assert step["reward_std"] == 0
    assert step["loss"] == pytest.approx(step["paw/wm_loss"], rel=1e-4)
    assert step["paw/wm_loss"] > 1.0  # cross-entropy of an untrained model on text, nats per token


@pytest.mark.slow
def test_shared_prompt_prefix_gives_the_plain_log_probs_loss_and_gradients(tiny_path, tmp_path, monkeypatch) -> None:
    """One fixed batch of 3 tasks × G = 2 episodes (prompts of different lengths, sampled rollouts of
    different lengths), scored with TRL's log-probability pass and with the shared-prompt one: per-token
    log-probs, the GRPO + PaW loss and every parameter's gradient agree to 1e-5."""
    from swirl_wm.backend import grpo
    from swirl_wm.models.loading import load_tokenizer

    shared_passes = []
    original = grpo.shared_prefix_logps
    monkeypatch.setattr(grpo, "shared_prefix_logps",
                        lambda *a, **k: (lambda out: shared_passes.append(out is not None) or out)(original(*a, **k)))
    game = DoorGame()
    far = AgentTask("doors", "door-far", "train", "Open the black door at the far end of the long hall.", 2)
    tasks = {t.task_id: t for t in [*game.tasks("train"), far]}
    config = GRPOPhaseConfig(learning_rate=1e-4, num_generations=2, per_device_train_batch_size=6, max_steps=1,
                             max_completion_length=64, beta=0.0, temperature=1.0, top_p=1.0)
    trainer = AgentGRPOTrainer(
        env_factory=lambda: DoorGame(max_steps=3, lenient=True), tasks=tasks,
        rollout=RolloutConfig(max_steps=3, max_action_tokens=4, max_context_tokens=512),
        paw=PaWConfig(loss="mae", alpha=1.0), model=tiny_path, args=grpo_args(config, tmp_path / "logs", seed=0),
        train_dataset=Dataset.from_list([{"prompt": task_id} for task_id in tasks]),
        processing_class=load_tokenizer(tiny_path))
    torch.manual_seed(0)
    batch = trainer._generate_and_score_completions([{"prompt": t} for t in tasks for _ in range(2)])
    trainer.close_environments()
    assert len(set(batch["prompt_mask"].sum(1).tolist())) > 1 and len(set(batch["completion_mask"].sum(1).tolist())) > 1
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's loop, bypassed here
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1)
    width = batch["completion_ids"].shape[1]
    results = {}
    for shared in (False, True):
        trainer.share_prompt_prefix = shared
        with torch.no_grad():
            logps, entropies, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, width,
                                                                             compute_entropy=True)
        trainer._metrics["train"].clear()
        loss = trainer._compute_loss(trainer.model, batch)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
        trainer.model.zero_grad(set_to_none=True)
        results[shared] = (logps * batch["completion_mask"], entropies * batch["completion_mask"], loss.detach(),
                           trainer._metrics["train"]["paw/wm_loss"], grads)
    assert shared_passes and all(shared_passes)  # the shared path ran, for the scoring and the loss passes
    (lp0, e0, loss0, wm0, g0), (lp1, e1, loss1, wm1, g1) = results[False], results[True]
    assert torch.allclose(lp0, lp1, atol=1e-5) and torch.allclose(e0, e1, atol=1e-5)
    assert wm0 and wm0 == pytest.approx(wm1, abs=1e-5)
    assert torch.allclose(loss0, loss1, atol=1e-5)
    assert g0.keys() == g1.keys() and all(torch.allclose(g0[n], g1[n], atol=1e-5) for n in g0)
