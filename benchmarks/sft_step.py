"""Cost of one SFT optimizer step: TRL's SFTTrainer vs a plain transformers forward/backward on the same
batch. Writes JSON (config, seed, machine, git commit, seconds per step) to --output.

    python benchmarks/sft_step.py --model smollm2 --steps 4 --output studies/speed/sft-step-smollm2.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from datasets import Dataset
from trl import SFTTrainer

from swirl_wm.backend.args import sft_args
from swirl_wm.backend.sft import sft_examples
from swirl_wm.config import SFTConfig
from swirl_wm.envs import physics
from swirl_wm.models.loading import load_model, load_tokenizer, resolve_model
from swirl_wm.reporting.run_info import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("studies/speed/sft-step-smollm2.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = resolve_model(args.model).path
    tokenizer = load_tokenizer(path)
    episodes = physics.generate_episodes(physics.PhysicsWorldConfig(n_objects=2, n_episodes=20), args.seed)
    transitions = [t for e in episodes for t in e.transitions]
    examples = sft_examples(transitions, tokenizer, ("fwm",))[: args.batch * (args.steps + 1)]

    # plain: prompt + completion, loss on the completion tokens only (as TRL's completion_only_loss)
    model = load_model(path).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    plain = []
    for step in range(args.steps + 1):
        batch = examples[step * args.batch:(step + 1) * args.batch]
        enc = tokenizer([e["prompt"] + e["completion"] for e in batch], return_tensors="pt", padding=True,
                        add_special_tokens=False)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        for row, e in enumerate(batch):
            labels[row, : len(tokenizer(e["prompt"], add_special_tokens=False)["input_ids"])] = -100
        start = time.perf_counter()
        loss = model(**enc, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step warms up
            plain.append(time.perf_counter() - start)

    config = SFTConfig(max_steps=args.steps + 1, per_device_train_batch_size=args.batch, learning_rate=1e-5)
    trainer = SFTTrainer(model=load_model(path), args=sft_args(config, Path("/tmp/sft_step_bench"), args.seed),
                         train_dataset=Dataset.from_list(examples), processing_class=tokenizer)
    start = time.perf_counter()
    trainer.train()
    trl_total = time.perf_counter() - start

    result = {
        **provenance(benchmark="sft_step", model=args.model, batch=args.batch, steps=args.steps,
                     threads=args.threads, seed=args.seed),
        "plain_s_per_step": sum(plain) / len(plain),
        "trl_s_per_step_incl_setup": trl_total / (args.steps + 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
