"""Prompt formatting: the model's chat template and a Foundry Local PromptTemplate give the same
prompt for ChatML; the tutorial's template, as written, does not."""

import json

import pytest

from harness.errors import HarnessError
from harness.evaluation.prompts import ChatFormatter, PromptTemplate, chat_template, derive_prompt_template, render_chat
from harness.models.embedded import MODEL_DIR

CHATS = [
    [{"role": "system", "content": "Classify."}, {"role": "user", "content": "My order is late."}],
    [{"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ],
]
# The tutorial's inference_model.json for Qwen-style (ChatML) models, as printed in it.
TUTORIAL = {
    "Name": "your-finetuned-model-int4",
    "PromptTemplate": {
        "system": "<|im_start|>system\n{Content}<|im_end|>",
        "user": "<|im_start|>user\n{Content}<|im_end|>",
        "assistant": "<|im_start|>assistant\n{Content}<|im_end|>",
        "prompt": "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant",
    },
}


@pytest.mark.parametrize("chat", CHATS)
def test_a_prompt_template_derived_from_chatml_renders_the_same_prompt(chat, tmp_path):
    template = chat_template(MODEL_DIR)
    derived = derive_prompt_template(template).template
    assert derived.prompt == "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant\n"
    assert derived.render(chat) == render_chat(chat, template)
    # and through a file, as --prompt-template reads it
    path = tmp_path / "inference_model.json"
    path.write_text(json.dumps({"Name": "m", "PromptTemplate": derived.to_json()}))
    formatter = ChatFormatter(MODEL_DIR, path)
    assert formatter.kind == "foundry_prompt_template"
    assert formatter(chat) == ChatFormatter(MODEL_DIR)(chat)
    assert not formatter.differs_from_chat_template(chat)


def test_the_tutorials_template_leaves_out_the_newlines_chatml_puts_between_turns(tmp_path):
    path = tmp_path / "inference_model.json"
    path.write_text(json.dumps(TUTORIAL))
    formatter = ChatFormatter(MODEL_DIR, path)
    assert formatter(CHATS[0]) == (
        "<|im_start|>system\nClassify.<|im_end|><|im_start|>user\nMy order is late.<|im_end|>\n<|im_start|>assistant"
    )
    assert formatter.differs_from_chat_template(CHATS[0])
    assert formatter.to_record(CHATS[0])["differs_from_chat_template"] is True


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "corrupt JSON at line 1"),
        (
            '{"PromptTemplate": {"prompt": "no placeholder", "assistant": "{Content}"}}',
            "'prompt' must be text containing {Content}",
        ),
        (
            '{"PromptTemplate": {"prompt": "{Content}", "assistant": "{Content}", "tool": "x"}}',
            "unknown PromptTemplate key tool",
        ),
        ("[1]", "expected an object with 'PromptTemplate'"),
    ],
)
def test_a_bad_prompt_template_file_is_named(tmp_path, content, message):
    path = tmp_path / "inference_model.json"
    path.write_text(content)
    with pytest.raises(HarnessError, match=message) as info:
        PromptTemplate.from_file(path)
    assert str(path) in str(info.value)


def test_without_a_chat_template_messages_are_joined_as_text(tmp_path):
    assert ChatFormatter(tmp_path).kind == "plain"
    assert ChatFormatter(tmp_path)([{"role": "user", "content": "q"}]) == "q\n"


# SmolLM2's template (and Qwen2.5's, in spirit): a default system message when the chat has none
DEFAULT_SYSTEM = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
USER_ONLY = [{"role": "user", "content": "Hi"}]
WITH_SYSTEM = CHATS[0]


def test_a_default_system_message_goes_into_prompt_for_chats_without_one():
    derived = derive_prompt_template(DEFAULT_SYSTEM)
    assert derived.template.prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant<|im_end|>\n")
    assert derived.template.render(USER_ONLY) == render_chat(USER_ONLY, DEFAULT_SYSTEM)
    assert derived.expresses(USER_ONLY) and not derived.expresses(WITH_SYSTEM)
    assert "adds a default system message" in derived.limits()
    assert derived.template.render(WITH_SYSTEM) != render_chat(WITH_SYSTEM, DEFAULT_SYSTEM)  # what limits() says


def test_chats_that_bring_a_system_message_get_a_prompt_without_the_default_one():
    derived = derive_prompt_template(DEFAULT_SYSTEM, [WITH_SYSTEM, WITH_SYSTEM, USER_ONLY])
    assert derived.for_system_chats and "You are a helpful" not in derived.template.prompt
    for chat in (WITH_SYSTEM, CHATS[2]):
        assert derived.expresses(chat) and derived.template.render(chat) == render_chat(chat, DEFAULT_SYSTEM)
    assert not derived.expresses(USER_ONLY)


def test_a_template_without_a_default_message_expresses_every_chat():
    derived = derive_prompt_template(chat_template(MODEL_DIR))
    assert derived.limits() is None and all(derived.expresses(chat) for chat in CHATS)


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{ ''.__class__.__mro__ }}", "tried something unsafe and the sandbox stopped it (no code ran)"),
        (
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "tried something unsafe and the sandbox stopped it",
        ),
        ("{{ raise_exception('only system and user') }}", "refused the messages: only system and user"),
        ("{% for m in messages %}{{ m.content ", "cannot render the messages: TemplateSyntaxError"),
        ("{{ messages[0]['content'] + 1 }}", "failed on the messages: TypeError"),
    ],
    ids=["attribute", "globals", "raise_exception", "syntax", "runtime"],
)
def test_a_chat_template_that_is_unsafe_or_broken_is_named_in_one_line(tmp_path, template, message):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    with pytest.raises(HarnessError) as info:
        ChatFormatter(tmp_path)(USER_ONLY)
    text = str(info.value)
    assert text.startswith(f"{tmp_path / 'tokenizer_config.json'}: ") and message in text and "\n" not in text
