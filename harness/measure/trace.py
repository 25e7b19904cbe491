"""GenerationTrace: what one request produced (tokens, text, timings, memory), the record every performance suite
reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class GenerationTrace:
    """One request, as measured. Times are seconds from ``t0`` (just before the prefill)."""

    prompt_tokens: int
    tokens: tuple[int, ...]  # generated token ids
    text: str  # the generated tokens decoded
    token_times: tuple[float, ...]  # when each generated token was available
    tokenize_s: float  # encoding the prompt text (0 when ids were given)
    finish_reason: str  # "eos" | "length"
    setup_s: float = 0.0  # creating the generator (its KV cache) before t0; 0 for a reused one

    @property
    def new_tokens(self) -> int:
        return len(self.tokens)

    @property
    def ttft_s(self) -> float:
        return self.token_times[0]

    @property
    def e2e_s(self) -> float:
        return self.token_times[-1]

    @property
    def decode_s(self) -> float:
        return self.token_times[-1] - self.token_times[0]

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first; None with fewer than two tokens."""
        return self.decode_s / (self.new_tokens - 1) if self.new_tokens > 1 else None

    @property
    def decode_tps(self) -> float | None:
        return (self.new_tokens - 1) / self.decode_s if self.new_tokens > 1 and self.decode_s > 0 else None

    @property
    def prefill_tps(self) -> float:
        return self.prompt_tokens / self.ttft_s if self.ttft_s > 0 else float("inf")

    @property
    def itl_s(self) -> list[float]:
        """Gaps between consecutive tokens."""
        return [b - a for a, b in zip(self.token_times, self.token_times[1:])]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GenerationTrace:
        return cls(
            prompt_tokens=int(data["prompt_tokens"]),
            tokens=tuple(int(t) for t in data["tokens"]),
            text=str(data["text"]),
            token_times=tuple(float(t) for t in data["token_times"]),
            tokenize_s=float(data["tokenize_s"]),
            finish_reason=str(data["finish_reason"]),
            setup_s=float(data.get("setup_s", 0.0)),
        )
