import pytest

from swirl_wm.models.prompts import PromptFormat, build_prompt, completion, fwm_prompt, idm_prompt, role_prompt
from swirl_wm.records import FWM, IDM, Transition


def test_chat_template_prompts_carry_the_inputs(tiny):
    _, tokenizer = tiny
    p = fwm_prompt(tokenizer, "STATE-X", "ACTION-Z")
    q = idm_prompt(tokenizer, "STATE-X", "STATE-Y")
    assert "STATE-X" in p and "ACTION-Z" in p and p.endswith("<|im_start|>assistant\n")
    assert "STATE-Y" in q and "Next state: STATE-Y" in q and p != q
    assert completion(tokenizer, "abc") == "abc" + tokenizer.eos_token


def test_plain_prompt_without_chat_template(tiny):
    _, tokenizer = tiny
    template = tokenizer.chat_template
    try:
        tokenizer.chat_template = None
        assert build_prompt(tokenizer, "fwm", "a", "b").endswith("Next state:\n")
        assert build_prompt(tokenizer, "idm", "a", "b").endswith("Action:\n")
    finally:
        tokenizer.chat_template = template


def test_plain_prompts_in_full(tiny):
    """The plain layout byte for byte (a checkpoint is prompted as it was trained): each role's instruction,
    the state, what the role conditions on under the other role's header, then its own header."""
    _, tokenizer = tiny
    template = tokenizer.chat_template
    try:
        tokenizer.chat_template = None
        assert build_prompt(tokenizer, FWM, "s0", "go") == (
            "Predict the next state after the action.\nState: s0\nAction: go\nNext state:\n")
        assert build_prompt(tokenizer, "idm", "s0", "s1", PromptFormat("A toy world.")) == (
            "A toy world.\nName the action that changed the state.\nState: s0\nNext state: s1\nAction:\n")
        x, y = "tin: temp=80", "tin: temp=70"
        assert build_prompt(tokenizer, IDM, x, y, PromptFormat(idm_diff=True, idm_next_state=False)) == (
            f"Name the action that changed the state.\nState: {x}\nChanges: tin: [temp=80 -> temp=70] (temp -10)"
            "\nAction:\n")
        assert build_prompt(tokenizer, IDM, x, y, PromptFormat(idm_next_state=False)).endswith(f"State: {x}\nAction:\n")
    finally:
        tokenizer.chat_template = template


def test_a_role_prompts_and_targets_a_transition(tiny):
    _, tokenizer = tiny
    t = Transition(x='{"cwd": "/a"}', z="cd(b)", y='{"cwd": "/b"}')
    fmt = PromptFormat(fwm_target="changes")
    assert role_prompt(tokenizer, FWM, t, fmt) == fwm_prompt(tokenizer, t.x, t.z, fmt)
    assert role_prompt(tokenizer, IDM, t, fmt) == idm_prompt(tokenizer, t.x, t.y, fmt)
    assert fmt.target(FWM, t) == fmt.fwm_completion(t.x, t.y) != t.y and fmt.target(IDM, t) == "cd(b)"
    with pytest.raises(ValueError, match="no action"):
        role_prompt(tokenizer, FWM, t.without_action())


def test_unknown_role(tiny):
    with pytest.raises(ValueError, match="unknown role"):
        build_prompt(tiny[1], "policy", "a", "b")


def test_idm_diff_goes_into_the_idm_prompt_only(tiny):
    _, tokenizer = tiny
    fmt = PromptFormat("A toy world.", idm_diff=True)
    q = idm_prompt(tokenizer, "tin: temp=80", "tin: temp=70", fmt)
    assert "Changes: tin: [temp=80 -> temp=70] (temp -10)" in q and "A toy world." in q
    assert "Changes:" not in idm_prompt(tokenizer, "tin: temp=80", "tin: temp=70", PromptFormat("A toy world."))
    assert fwm_prompt(tokenizer, "s", "go", fmt) == fwm_prompt(tokenizer, "s", "go", PromptFormat("A toy world."))


def test_idm_without_the_next_state_reads_x_and_the_changes(tiny):
    _, tokenizer = tiny
    fmt = PromptFormat(idm_diff=True, idm_next_state=False)
    q = idm_prompt(tokenizer, "tin: temp=80", "tin: temp=70", fmt)
    assert "State: tin: temp=80\nChanges: tin: [temp=80 -> temp=70] (temp -10)" in q and "Next state:" not in q
    assert fwm_prompt(tokenizer, "s", "go", fmt) == fwm_prompt(tokenizer, "s", "go")


def test_prompt_format_round_trip(tmp_path):
    assert PromptFormat.load(tmp_path) == PromptFormat()
    PromptFormat("d", idm_diff=True, idm_next_state=False).save(tmp_path)
    assert PromptFormat.load(tmp_path) == PromptFormat("d", idm_diff=True, idm_next_state=False)


def test_prompt_tokens_are_a_prefix_of_prompt_plus_completion(tiny, tmp_path):
    """Training (TRL tokenizes prompt + completion) and inference (prompt, then generated or scored tokens)
    must see the same context before the completion's first token, for the chat template (SmolLM2's) and the
    plain layout (the small preset's BPE tokenizer)."""
    from swirl_wm.models.loading import build_small_model, load_tokenizer

    x = "width=8 | brick: pos=6 vel=0 temp=30 | tin: pos=5 vel=0 temp=80"
    y = "width=8 | brick: pos=6 vel=0 temp=30 | tin: pos=5 vel=0 temp=70"
    texts = [x, y, "Action: cool tin", "Action: heat tin", f"Next state: {y}"]  # learns merges like " cool"
    small = load_tokenizer(build_small_model(tmp_path / "small", texts, seed=0).path)
    fmt = PromptFormat("A toy world.", idm_diff=True)
    for tokenizer in (tiny[1], small):
        for prompt, target in ((fwm_prompt(tokenizer, x, "cool tin", fmt), y), (idm_prompt(tokenizer, x, y, fmt),
                                                                                  "cool tin")):
            alone = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            joint = tokenizer(prompt + completion(tokenizer, target), add_special_tokens=False)["input_ids"]
            assert joint[: len(alone)] == alone, tokenizer.decode(alone[-3:])
