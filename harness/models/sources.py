"""Model sources: what the user points at, resolved to a :class:`ModelSource` with a content hash.

Sources: the embedded default (``embedded``: the support-ticket model shipped in
``harness/models/embedded/model``), a preset (``smollm2-135m``: a real model from a registry package,
:mod:`harness.models.presets`), a local Hugging Face checkpoint folder, and a local GGUF file. Presets and
GGUF files are converted once into a Hugging Face folder (:mod:`harness.models.gguf`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness.common.hashing import tree_sha256
from harness.errors import HarnessError
from harness.models.gguf import converted_folder
from harness.models.presets import PRESETS
from harness.settings.config import CONTEXT_CAP

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "embedded" | "preset" | "hf_folder" | "gguf"
    name: str  # short name used in reports and package names
    path: Path  # the Hugging Face folder the builders read (for a GGUF: the converted folder)
    content_hash: str  # sha256 over every file's relative path and bytes
    architecture: str  # config.json model_type, e.g. "llama"
    num_attention_heads: int
    num_key_value_heads: int
    context_length: int  # max_position_embeddings
    gguf_file: str | None = None  # the GGUF file the folder was converted from
    gguf_sha256: str | None = None

    @property
    def uses_gqa(self) -> bool:
        """Grouped-query attention: fewer key/value heads than attention heads."""
        return self.num_key_value_heads < self.num_attention_heads

    def to_record(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": str(self.path),
            "content_hash": self.content_hash,
            "architecture": self.architecture,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "context_length": self.context_length,
            "gguf_file": self.gguf_file,
            "gguf_sha256": self.gguf_sha256,
        }


def resolve_model(
    spec: str,
    origin: str = "option --model",
    cache_dir: Path = Path(".harness-cache"),
    progress: Callable[[str], None] = lambda message: None,
) -> ModelSource:
    """Turn a ``--model`` value into a validated :class:`ModelSource` (converting a GGUF file once)."""
    if spec == "embedded":
        from harness.models.embedded import MODEL_DIR

        if not (MODEL_DIR / "config.json").is_file():
            raise HarnessError(
                f"the embedded model is missing at {MODEL_DIR}; recreate it with "
                "`python -m harness.models.embedded.train`"
            )
        return _from_folder(MODEL_DIR, kind="embedded", name="support-tickets", origin=origin)
    if spec in PRESETS:
        gguf = PRESETS[spec].locate(origin)
        return _from_gguf(gguf, kind="preset", name=spec, origin=origin, cache_dir=cache_dir, progress=progress)
    path = Path(spec).expanduser()
    if not path.exists():
        if "/" not in spec and not path.suffix:
            raise HarnessError(
                f"no model folder or file named '{spec}', and no preset of that name "
                f"(presets: embedded, {', '.join(PRESETS)}) ({origin})"
            )
        raise HarnessError(f"model folder or file not found: {path} ({origin})")
    path = path.resolve()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise HarnessError(
                f"model path is a file but not a .gguf file: {path} ({origin}; expected a "
                "Hugging Face checkpoint folder or a GGUF file)"
            )
        return _from_gguf(path, kind="gguf", name=path.stem, origin=origin, cache_dir=cache_dir, progress=progress)
    return _from_folder(path, kind="hf_folder", name=path.name, origin=origin)


def _from_gguf(
    gguf: Path, *, kind: str, name: str, origin: str, cache_dir: Path, progress: Callable[[str], None]
) -> ModelSource:
    folder, sha = converted_folder(gguf, cache_dir, progress, origin)
    source = _from_folder(folder, kind=kind, name=name, origin=f"converted from {gguf}, {origin}")
    return dataclasses.replace(source, gguf_file=str(gguf), gguf_sha256=sha)


@lru_cache(maxsize=1)
def supported_architectures() -> frozenset[str]:
    """The Hugging Face architectures the installed onnxruntime-genai model builder dispatches on,
    read from its source (importing it loads torch). Empty when the builder cannot be found, and
    then nothing is refused here: the build itself will say what is wrong."""
    spec = importlib.util.find_spec("onnxruntime_genai")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    builder = Path(next(iter(spec.submodule_search_locations))) / "models" / "builder.py"
    if not builder.is_file():
        return frozenset()
    return frozenset(re.findall(r'config\.architectures\[0\] == "(\w+)"', builder.read_text(encoding="utf-8")))


def _from_folder(path: Path, *, kind: str, name: str, origin: str) -> ModelSource:
    config_path = path / "config.json"
    if not config_path.is_file():
        raise HarnessError(f"{path}: no config.json, not a Hugging Face checkpoint folder ({origin})")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{config_path}: corrupt JSON: {exc}") from None
    if not isinstance(config, dict):
        raise HarnessError(f"{config_path}: expected a JSON object")
    architectures = config.get("architectures") or []
    supported = supported_architectures()
    if supported and (not architectures or architectures[0] not in supported):
        named = architectures[0] if architectures else "none named in 'architectures'"
        raise HarnessError(
            f"{config_path}: architecture {named} is not one onnxruntime-genai's model builder "
            f"supports ({', '.join(sorted(supported))}) ({origin})"
        )
    if not any(path.glob(p) for p in WEIGHT_PATTERNS):
        raise HarnessError(f"{path}: no weights (*.safetensors or pytorch_model*.bin) ({origin})")
    for weights in sorted(path.glob("*.safetensors")):
        _check_safetensors(weights)
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise HarnessError(f"{path}: no tokenizer (tokenizer.json or tokenizer.model) ({origin})")
    text_config = config.get("text_config", config)
    heads = text_config.get("num_attention_heads")
    if not isinstance(heads, int):
        raise HarnessError(f"{config_path}: missing num_attention_heads")
    kv_heads = text_config.get("num_key_value_heads") or heads
    return ModelSource(
        kind=kind,
        name=name,
        path=path,
        content_hash=hash_folder(path),
        architecture=str(config.get("model_type", "unknown")),
        num_attention_heads=int(heads),
        num_key_value_heads=int(kv_heads),
        context_length=int(text_config.get("max_position_embeddings", CONTEXT_CAP)),  # unsaid: assume the cap
    )


def _check_safetensors(path: Path) -> None:
    """A safetensors file must be as long as its header says (a truncated copy or download is
    named here, not left to fail deep inside the builder)."""
    size = path.stat().st_size
    try:
        with path.open("rb") as fh:
            header_len = int.from_bytes(fh.read(8), "little")
            if size < 8 or header_len > size - 8:
                raise ValueError
            header = json.loads(fh.read(header_len))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
        raise HarnessError(f"{path}: not a readable safetensors file (corrupt or truncated header)") from None
    if size != 8 + header_len + end:
        raise HarnessError(
            f"{path}: truncated or damaged: {size:,} bytes, its header describes {8 + header_len + end:,}"
        )


def hash_folder(path: Path) -> str:
    """A model folder's identity: its files' paths and bytes, its documentation (.md) aside."""
    return tree_sha256(path, skip_suffixes=(".md",))
