"""Turn chat messages into the prompt text a model expects, with the model's own chat template.

The template is the Jinja ``chat_template`` of the model's ``tokenizer_config.json``, rendered in
a sandbox with the settings Hugging Face tokenizers use (trimmed blocks, ``raise_exception``), so
the text is the same one ``apply_chat_template`` would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness.errors import HarnessError, read_json


def chat_template(model_dir: Path) -> str | None:
    """The model's chat template, or None when it has none."""
    path = Path(model_dir) / "tokenizer_config.json"
    if not path.is_file():
        return None
    config = read_json(path, "tokenizer config")
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        template = next((t["template"] for t in template if t.get("name") == "default"), None)
    if template is None and (Path(model_dir) / "chat_template.jinja").is_file():
        template = (Path(model_dir) / "chat_template.jinja").read_text(encoding="utf-8")
    return template


@lru_cache(maxsize=8)
def _compile(template: str):
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise HarnessError(f"chat template refused the messages: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


def render_chat(messages: list[dict], template: str | None, *, add_generation_prompt: bool = True,
                **special_tokens: str) -> str:
    """Render ``messages`` with ``template``; without a template, fall back to plain text."""
    if template is None:
        text = "\n".join(m["content"] for m in messages)
        return text + "\n" if add_generation_prompt else text
    return _compile(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                     **special_tokens)


# ---------------------------------------------------------------------------------------------
# Foundry Local's PromptTemplate (the "PromptTemplate" object of inference_model.json)

CONTENT = "{Content}"


@dataclass(frozen=True)
class PromptTemplate:
    """Per-role text around ``{Content}``. A chat is rendered message by message, each with its
    role's template (``{Content}`` alone when that role has none), except the final user
    message, which is rendered with ``prompt`` (it also opens the assistant's turn); the pieces
    are joined as they are, with nothing added between them."""

    assistant: str
    prompt: str
    system: str | None = None
    user: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> "PromptTemplate":
        """Read ``PromptTemplate`` from an inference_model.json (or a file holding only it)."""
        data = read_json(path, "prompt template", "--prompt-template")
        template = data.get("PromptTemplate", data) if isinstance(data, dict) else None
        if not isinstance(template, dict):
            raise HarnessError(f"{path}: expected an object with 'PromptTemplate'")
        unknown = set(template) - {"system", "user", "assistant", "prompt"}
        if unknown:
            raise HarnessError(f"{path}: unknown PromptTemplate key {', '.join(sorted(unknown))} "
                               f"(known: system, user, assistant, prompt)")
        for key in ("assistant", "prompt"):
            if not isinstance(template.get(key), str) or CONTENT not in template[key]:
                raise HarnessError(f"{path}: PromptTemplate '{key}' must be text containing {CONTENT}")
        for key in ("system", "user"):
            if template.get(key) is not None and (not isinstance(template[key], str) or CONTENT not in template[key]):
                raise HarnessError(f"{path}: PromptTemplate '{key}' must be text containing {CONTENT}")
        return cls(assistant=template["assistant"], prompt=template["prompt"],
                   system=template.get("system"), user=template.get("user"))

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        last = len(messages) - 1 if add_generation_prompt and messages and messages[-1]["role"] == "user" else -1
        parts = []
        for index, message in enumerate(messages):
            template = self.prompt if index == last else (getattr(self, message["role"], None) or CONTENT)
            parts.append(template.replace(CONTENT, message["content"]))
        return "".join(parts)

    def to_json(self) -> dict:
        return {key: value for key, value in (("system", self.system), ("user", self.user),
                                              ("assistant", self.assistant), ("prompt", self.prompt))
                if value is not None}


def derive_prompt_template(template: str) -> PromptTemplate:
    """The PromptTemplate that renders chats as the Jinja chat ``template`` does, found by
    rendering marked messages and cutting the text between the marks at the role boundaries."""
    a, b, c, d = "\x00A\x00", "\x00B\x00", "\x00C\x00", "\x00D\x00"

    def render(messages, generation):
        return render_chat([{"role": r, "content": t} for r, t in messages], template,
                           add_generation_prompt=generation)

    def cut(text, marks):
        pieces, rest = [], text
        for mark in marks:
            before, found, rest = rest.partition(mark)
            if not found:
                raise HarnessError("the chat template drops message text; cannot derive a PromptTemplate")
            pieces.append(before)
        return pieces + [rest]

    # user / assistant: [user B, assistant C, user D] -> u0 B s1 C s2 D s3
    _, after_b, after_c, after_d = cut(render([("user", b), ("assistant", c), ("user", d)], False), (b, c, d))
    _, _, assistant_end = cut(render([("user", b), ("assistant", c)], False), (b, c))
    if not after_c.startswith(assistant_end) or not after_b.startswith(after_d):
        raise HarnessError("the chat template's turns are not separable; cannot derive a PromptTemplate")
    user_prefix = after_c[len(assistant_end):]
    assistant_prefix = after_b[len(after_d):]
    user = user_prefix + CONTENT + after_d
    assistant = assistant_prefix + CONTENT + assistant_end
    _, opened = cut(render([("user", b)], True), (b,))
    prompt = user_prefix + CONTENT + opened
    system = None
    try:
        head, between, _ = cut(render([("system", a), ("user", b)], False), (a, b))
    except HarnessError:
        head = None  # a template that refuses system messages
    if head is not None and between.endswith(user_prefix):
        system = head + CONTENT + between[:len(between) - len(user_prefix)]
    return PromptTemplate(assistant=assistant, prompt=prompt, system=system, user=user)


class ChatFormatter:
    """How a run turns chat messages into prompt text: a Foundry ``PromptTemplate`` when one is
    given (``--prompt-template``), otherwise the model's own chat template, otherwise plain text."""

    def __init__(self, model_dir: Path, prompt_template: Path | None = None) -> None:
        self.chat_template = chat_template(model_dir)
        self.prompt_template = PromptTemplate.from_file(prompt_template) if prompt_template else None
        self.source = str(prompt_template) if prompt_template else None

    @property
    def kind(self) -> str:
        if self.prompt_template is not None:
            return "foundry_prompt_template"
        return "chat_template" if self.chat_template is not None else "plain"

    def __call__(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        messages = list(messages)
        if self.prompt_template is not None:
            return self.prompt_template.render(messages, add_generation_prompt)
        return render_chat(messages, self.chat_template, add_generation_prompt=add_generation_prompt)

    def differs_from_chat_template(self, messages: list[dict]) -> bool:
        """Whether the given PromptTemplate renders ``messages`` differently from the model's
        own chat template (the text the model was trained to see)."""
        if self.prompt_template is None or self.chat_template is None:
            return False
        return self(messages) != render_chat(list(messages), self.chat_template)

    def to_record(self, sample: list[dict] | None = None) -> dict:
        record = {"kind": self.kind, "path": self.source}
        if self.prompt_template is not None:
            record["prompt_template"] = self.prompt_template.to_json()
            if sample is not None:
                record["differs_from_chat_template"] = self.differs_from_chat_template(sample)
        return record
