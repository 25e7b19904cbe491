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


def chat_template_file(model_dir: Path) -> Path | None:
    """The file the model's chat template is read from (``tokenizer_config.json``, else
    ``chat_template.jinja``), or None when it has none."""
    config = Path(model_dir) / "tokenizer_config.json"
    if config.is_file() and read_json(config, "tokenizer config").get("chat_template") is not None:
        return config
    jinja = Path(model_dir) / "chat_template.jinja"
    return jinja if jinja.is_file() else None


def chat_template(model_dir: Path) -> str | None:
    """The model's chat template, or None when it has none."""
    path = Path(model_dir) / "tokenizer_config.json"
    template = None
    if path.is_file():
        template = read_json(path, "tokenizer config").get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        template = next((t["template"] for t in template if t.get("name") == "default"), None)
    if template is None and (Path(model_dir) / "chat_template.jinja").is_file():
        template = (Path(model_dir) / "chat_template.jinja").read_text(encoding="utf-8")
    return template


@lru_cache(maxsize=8)
def _compile(template: str):
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateRefused(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


class TemplateRefused(Exception):
    """The chat template called ``raise_exception`` (it refuses these messages)."""


def render_chat(
    messages: list[dict],
    template: str | None,
    *,
    add_generation_prompt: bool = True,
    origin: str = "the model's chat template",
    **special_tokens: str,
) -> str:
    """Render ``messages`` with ``template``; without a template, fall back to plain text. A
    template that refuses the messages, breaks, or reaches for what the sandbox forbids is a
    HarnessError naming ``origin`` (the file the template came from)."""
    from jinja2.exceptions import SecurityError, TemplateError

    if template is None:
        text = "\n".join(m["content"] for m in messages)
        return text + "\n" if add_generation_prompt else text
    try:
        return _compile(template).render(
            messages=messages, add_generation_prompt=add_generation_prompt, **special_tokens
        )
    except TemplateRefused as exc:
        raise HarnessError(f"{origin}: the chat template refused the messages: {exc}") from None
    except SecurityError as exc:
        raise HarnessError(
            f"{origin}: the chat template tried something unsafe and the sandbox stopped it (no code ran): {exc}"
        ) from None
    except TemplateError as exc:
        raise HarnessError(
            f"{origin}: the chat template cannot render the messages: {type(exc).__name__}: {exc}"
        ) from None
    except Exception as exc:  # a template's own arithmetic or indexing (e.g. messages[5] of one message)
        raise HarnessError(f"{origin}: the chat template failed on the messages: {type(exc).__name__}: {exc}") from None


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
    def from_file(cls, path: Path) -> PromptTemplate:
        """Read ``PromptTemplate`` from an inference_model.json (or a file holding only it)."""
        data = read_json(path, "prompt template", "--prompt-template")
        template = data.get("PromptTemplate", data) if isinstance(data, dict) else None
        if not isinstance(template, dict):
            raise HarnessError(f"{path}: expected an object with 'PromptTemplate'")
        unknown = set(template) - {"system", "user", "assistant", "prompt"}
        if unknown:
            raise HarnessError(
                f"{path}: unknown PromptTemplate key {', '.join(sorted(unknown))} "
                f"(known: system, user, assistant, prompt)"
            )
        for key in ("assistant", "prompt"):
            if not isinstance(template.get(key), str) or CONTENT not in template[key]:
                raise HarnessError(f"{path}: PromptTemplate '{key}' must be text containing {CONTENT}")
        for key in ("system", "user"):
            if template.get(key) is not None and (not isinstance(template[key], str) or CONTENT not in template[key]):
                raise HarnessError(f"{path}: PromptTemplate '{key}' must be text containing {CONTENT}")
        return cls(
            assistant=template["assistant"],
            prompt=template["prompt"],
            system=template.get("system"),
            user=template.get("user"),
        )

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        last = len(messages) - 1 if add_generation_prompt and messages and messages[-1]["role"] == "user" else -1
        parts = []
        for index, message in enumerate(messages):
            template = self.prompt if index == last else (getattr(self, message["role"], None) or CONTENT)
            parts.append(template.replace(CONTENT, message["content"]))
        return "".join(parts)

    def to_json(self) -> dict:
        return {
            key: value
            for key, value in (
                ("system", self.system),
                ("user", self.user),
                ("assistant", self.assistant),
                ("prompt", self.prompt),
            )
            if value is not None
        }


@dataclass(frozen=True)
class DerivedTemplate:
    """A PromptTemplate derived from a chat template, and the chats it renders as that template
    does. A template that adds a default system message when a chat brings none (SmolLM2's,
    Qwen2.5's) asks for a condition the format cannot state: ``prompt`` carries the default
    message for chats without a system message (``for_system_chats`` False), or leaves it out for
    chats that bring their own (True), and the other kind, like a multi-turn chat without one, is
    rendered differently."""

    template: PromptTemplate
    default_system: str = ""  # what the chat template puts before a chat that has no system message
    for_system_chats: bool = False

    def expresses(self, messages: list[dict]) -> bool:
        if not self.default_system:
            return True
        if messages and messages[0]["role"] == "system":
            return self.for_system_chats
        return not self.for_system_chats and len(messages) == 1

    def limits(self) -> str | None:
        """What the PromptTemplate cannot render as the chat template does (None: nothing)."""
        if not self.default_system:
            return None
        kept = "chats that bring their own system message" if self.for_system_chats else "one-turn chats without one"
        return (
            f"the chat template adds a default system message ({self.default_system.strip()!r}) only when a chat "
            f"has none, a condition a PromptTemplate cannot state: its 'prompt' is written for {kept}, and other "
            f"chats render differently (the package's tokenizer_config.json carries the chat template itself)"
        )


def derive_prompt_template(
    template: str, conversations: list[list[dict]] | None = None, origin: str = "the model's chat template"
) -> DerivedTemplate:
    """The PromptTemplate that renders chats as the Jinja chat ``template`` does, found by
    rendering marked messages and cutting the text between the marks at the role boundaries.
    ``conversations`` (the domain's chats, when known) decide which chats a template with a
    default system message is written for: the kind most of them are (one-turn chats without a
    system message when not given)."""
    a, b, c, d = "\x00A\x00", "\x00B\x00", "\x00C\x00", "\x00D\x00"

    def render(messages, generation):
        return render_chat(
            [{"role": r, "content": t} for r, t in messages], template, add_generation_prompt=generation, origin=origin
        )

    def cut(text, marks):
        pieces, rest = [], text
        for mark in marks:
            before, found, rest = rest.partition(mark)
            if not found:
                raise HarnessError(f"{origin}: the chat template drops message text; cannot derive a PromptTemplate")
            pieces.append(before)
        return pieces + [rest]

    # user / assistant: [user B, assistant C, user D] -> u0 B s1 C s2 D s3
    _, after_b, after_c, after_d = cut(render([("user", b), ("assistant", c), ("user", d)], False), (b, c, d))
    _, _, assistant_end = cut(render([("user", b), ("assistant", c)], False), (b, c))
    if not after_c.startswith(assistant_end) or not after_b.startswith(after_d):
        raise HarnessError(f"{origin}: the chat template's turns are not separable; cannot derive a PromptTemplate")
    user_prefix = after_c[len(assistant_end) :]
    assistant_prefix = after_b[len(after_d) :]
    user = user_prefix + CONTENT + after_d
    assistant = assistant_prefix + CONTENT + assistant_end
    lead, opened = cut(render([("user", b)], True), (b,))
    # what a chat without a system message gets before its first user turn, beyond the turn itself
    default_system = lead[: len(lead) - len(user_prefix)] if lead.endswith(user_prefix) else ""
    with_system = sum(1 for chat in conversations or [] if chat and chat[0]["role"] == "system")
    for_system_chats = bool(default_system) and 2 * with_system > len(conversations or [])
    prompt = ("" if for_system_chats else default_system) + user_prefix + CONTENT + opened
    system = None
    try:
        head, between, _ = cut(render([("system", a), ("user", b)], False), (a, b))
    except HarnessError:
        head = None  # a template that refuses system messages
    if head is not None and between.endswith(user_prefix):
        system = head + CONTENT + between[: len(between) - len(user_prefix)]
    return DerivedTemplate(
        PromptTemplate(assistant=assistant, prompt=prompt, system=system, user=user), default_system, for_system_chats
    )


class ChatFormatter:
    """How a run turns chat messages into prompt text: a Foundry ``PromptTemplate`` when one is
    given (``--prompt-template``), otherwise the model's own chat template, otherwise plain text."""

    def __init__(self, model_dir: Path, prompt_template: Path | None = None) -> None:
        self.chat_template = chat_template(model_dir)
        self.template_origin = str(chat_template_file(model_dir) or Path(model_dir))
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
        return render_chat(
            messages, self.chat_template, add_generation_prompt=add_generation_prompt, origin=self.template_origin
        )

    def differs_from_chat_template(self, messages: list[dict]) -> bool:
        """Whether the given PromptTemplate renders ``messages`` differently from the model's
        own chat template (the text the model was trained to see)."""
        if self.prompt_template is None or self.chat_template is None:
            return False
        return self(messages) != render_chat(list(messages), self.chat_template, origin=self.template_origin)

    def to_record(self, sample: list[dict] | None = None) -> dict:
        record = {"kind": self.kind, "path": self.source}
        if self.prompt_template is not None:
            record["prompt_template"] = self.prompt_template.to_json()
            if sample is not None:
                record["differs_from_chat_template"] = self.differs_from_chat_template(sample)
        return record


def conversation_text(example, format_prompt) -> str:
    """An example's whole conversation (its reference answer as the assistant's turn), formatted
    as the model sees it."""
    messages = list(example.messages)
    if example.reference is None:
        return format_prompt(messages)
    return format_prompt(messages + [{"role": "assistant", "content": example.reference}], add_generation_prompt=False)
