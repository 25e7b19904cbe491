"""Model sources: what the user points at, resolved to a :class:`ModelSource` with a content hash.

Sources today: the embedded default (``embedded``: the support-ticket model shipped in
``harness/embedded/model``) and a local Hugging Face checkpoint folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import HarnessError

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "embedded" | "hf_folder"
    name: str  # short name used in reports and package names
    path: Path  # the Hugging Face folder the builders read
    content_hash: str  # sha256 over every file's relative path and bytes
    architecture: str  # config.json model_type, e.g. "llama"
    num_attention_heads: int
    num_key_value_heads: int
    context_length: int  # max_position_embeddings

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
        }


def resolve_model(spec: str, origin: str = "option --model") -> ModelSource:
    """Turn a ``--model`` value into a validated :class:`ModelSource`."""
    if spec == "embedded":
        from .embedded import MODEL_DIR

        if not (MODEL_DIR / "config.json").is_file():
            raise HarnessError(
                f"the embedded model is missing at {MODEL_DIR}; recreate it with "
                "`python -m harness.embedded.train`"
            )
        return _from_folder(MODEL_DIR, kind="embedded", name="support-tickets", origin=origin)
    path = Path(spec).expanduser()
    if not path.exists():
        raise HarnessError(f"model folder not found: {path} ({origin})")
    if not path.is_dir():
        raise HarnessError(f"model path is not a folder: {path} ({origin}; expected a Hugging Face checkpoint folder)")
    return _from_folder(path.resolve(), kind="hf_folder", name=path.resolve().name, origin=origin)


@lru_cache(maxsize=1)
def supported_architectures() -> frozenset[str]:
    """The Hugging Face architectures the installed onnxruntime-genai model builder dispatches on,
    read from its source (importing it loads torch). Empty when the builder cannot be found, and
    then nothing is refused here: the build itself will say what is wrong."""
    spec = importlib.util.find_spec("onnxruntime_genai")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    builder = Path(list(spec.submodule_search_locations)[0]) / "models" / "builder.py"
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
        raise HarnessError(f"{config_path}: architecture {named} is not one onnxruntime-genai's model builder "
                           f"supports ({', '.join(sorted(supported))}) ({origin})")
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
        context_length=int(text_config.get("max_position_embeddings", 2048)),
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
        raise HarnessError(f"{path}: truncated or damaged: {size:,} bytes, its header describes "
                           f"{8 + header_len + end:,}")


def hash_folder(path: Path) -> str:
    """sha256 over the relative path and bytes of every regular, non-hidden file, in name order."""
    digest = hashlib.sha256()
    files = sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and p.suffix not in (".md",)
    )
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
