"""Turn chat messages into the prompt text a model expects, with the model's own chat template.

The template is the Jinja ``chat_template`` of the model's ``tokenizer_config.json``, rendered in
a sandbox with the settings Hugging Face tokenizers use (trimmed blocks, ``raise_exception``), so
the text is the same one ``apply_chat_template`` would give.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .errors import HarnessError


def chat_template(model_dir: Path) -> str | None:
    """The model's chat template, or None when it has none."""
    path = Path(model_dir) / "tokenizer_config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: corrupt JSON at line {exc.lineno}: {exc.msg}") from None
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
