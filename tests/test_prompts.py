import pytest

from swirl_wm.models.prompts import build_prompt, completion, fwm_prompt, idm_prompt


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
        assert build_prompt(tokenizer, "fwm", "a", "b").endswith("Next state: ")
        assert build_prompt(tokenizer, "idm", "a", "b").endswith("Action: ")
    finally:
        tokenizer.chat_template = template


def test_unknown_role(tiny):
    with pytest.raises(ValueError, match="unknown role"):
        build_prompt(tiny[1], "policy", "a", "b")
