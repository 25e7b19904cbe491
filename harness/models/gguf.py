"""GGUF file -> Hugging Face checkpoint folder, once per file content, in the harness's cache.

The onnxruntime-genai builders read Hugging Face folders. ``transformers`` loads a GGUF file (with
the ``gguf`` package), dequantizing its weights to float32; such a model refuses
``save_pretrained``, so its weights are copied into a fresh model of the same class and saved.
The chat template is written into ``tokenizer_config.json`` (where Foundry Local reads it).

The conversion runs in a child process (``python -m harness.models.gguf GGUF OUT``) so that the
pytest process does not hold torch and the model's weights, and its failure comes back as one line.
The folder is keyed on the file's sha256 and the converter's versions; a file lock keeps parallel
runs from converting twice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from harness.common.cache import once
from harness.common.hashing import file_sha256
from harness.common.processes import die_with_parent, stop_if_interrupted
from harness.errors import HarnessError

CONVERTER_VERSION = 1  # bump when the conversion's output changes
MAGIC = b"GGUF"
MARKER = ".converted.json"  # hidden: not part of the folder's content hash


def is_gguf(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == MAGIC


def converted_folder(
    gguf: Path, cache_dir: Path, progress: Callable[[str], None] = lambda m: None, origin: str = "option --model"
) -> tuple[Path, str]:
    """The Hugging Face folder converted from ``gguf`` and the file's sha256; converts on first use."""
    try:
        if not is_gguf(gguf):
            raise HarnessError(f"{gguf}: not a GGUF file (it does not start with 'GGUF') ({origin})")
        sha = file_sha256(gguf)
    except OSError as exc:
        raise HarnessError(f"cannot read {gguf}: {exc.strerror} ({origin})") from None
    key = hashlib.sha256(f"{sha} {CONVERTER_VERSION} {version('transformers')} {version('gguf')}".encode())
    dest = cache_dir.resolve() / "models" / f"{gguf.stem}-{key.hexdigest()[:16]}"

    def convert(folder: Path) -> None:
        partial = folder.parent / (folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        progress(
            f"converting {gguf.name} ({gguf.stat().st_size / 1e6:.1f} MB) to a Hugging Face folder, once: {folder}"
        )
        done = subprocess.run(
            [sys.executable, "-m", "harness.models.gguf", str(gguf), str(partial)],
            capture_output=True,
            text=True,
            preexec_fn=die_with_parent(),
        )
        stop_if_interrupted(done.returncode)
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {done.returncode}"
            raise HarnessError(f"{gguf}: cannot convert this GGUF file to a Hugging Face folder: {reason} ({origin})")
        (partial / MARKER).write_text(
            json.dumps(
                {
                    "gguf": str(gguf),
                    "sha256": sha,
                    "converter": CONVERTER_VERSION,
                    "transformers": version("transformers"),
                    "gguf_package": version("gguf"),
                },
                indent=1,
            )
            + "\n"
        )
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)

    once(dest, convert, load=lambda folder: folder, ready=lambda folder: (folder / MARKER).is_file())
    return dest, sha


def convert(gguf: Path, out: Path) -> None:
    """Load ``gguf`` with transformers and save it, in float32, as a Hugging Face folder ``out``."""
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized now; the folder is plain float32
    fresh = type(loaded)(config)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    _template_into_tokenizer_config(out)


def _template_into_tokenizer_config(out: Path) -> None:
    """One place for the chat template, the one every reader knows: ``tokenizer_config.json``.
    The tokenizer class is named as the fast tokenizer the folder holds (``tokenizer.json``)."""
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    jinja = out / "chat_template.jinja"
    if jinja.is_file():
        config.setdefault("chat_template", jinja.read_text(encoding="utf-8"))
        jinja.unlink()
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m harness.models.gguf FILE.gguf OUT_DIR", file=sys.stderr)
        return 2
    try:
        convert(Path(argv[0]), Path(argv[1]))
    except Exception as exc:
        print(f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
