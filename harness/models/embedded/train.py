"""Build the embedded default model: data set, tokenizer and a tiny Llama, from scratch.

Run as::

    python -m harness.models.embedded.train [--out DIR] [--data-dir DIR] [--seconds N]

Steps, all deterministic:

1. write the support-ticket data set (:mod:`harness.models.embedded.tickets`) to
   ``<data-dir>/train.jsonl`` and ``<data-dir>/heldout.jsonl`` (byte-identical
   on every run);
2. train a byte-level BPE tokenizer on the training conversations;
3. train a small ``LlamaForCausalLM`` with grouped-query attention, in two
   phases: a short *copy drill* phase that teaches the model to copy order
   numbers (see :class:`DrillMaker`), then the ticket task itself, with the
   loss on the assistant answer tokens only;
4. save a standard Hugging Face folder (config, float32 safetensors,
   generation config, tokenizer files with a ChatML chat template) plus a
   ``TRAINING.md`` recording the recipe, hashes and held-out accuracy.

Training stops after a fixed number of optimizer steps, never on the wall
clock, so two runs on the same machine produce byte-identical weights.
``--seconds`` states the budget in seconds of the reference machine (2 CPU
cores): both phases' step counts are scaled linearly from the defaults that
fit :data:`REFERENCE_SECONDS`, so the result depends only on the number given,
never on how fast the current machine is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Must be set before the tokenizers library starts its thread pool.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from . import tickets

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = Path(__file__).resolve().parent / "model"
DEFAULT_DATA_DIR = REPO_ROOT / "datasets" / "support_tickets"

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)

#: ChatML template: ``<|im_start|>role\ncontent<|im_end|>\n`` per message.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

#: Pre-tokenization regex (the one used by Qwen2-style byte-level BPE
#: tokenizers): every digit is its own pre-token, so an order number is the
#: same token sequence in the ticket and in the answer.
PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

#: Budget (reference-machine seconds) that the default step counts fit.
REFERENCE_SECONDS = 120.0

#: Fixed intra-op thread count: the same count on every run keeps float
#: reductions in the same order, hence bit-identical weights.
NUM_THREADS = 2


@dataclass(frozen=True)
class Recipe:
    """Every hyper-parameter of the embedded model; recorded in ``TRAINING.md``."""

    seed: int = 1234
    data_seed: int = tickets.DEFAULT_SEED
    # tokenizer
    vocab_size: int = 1024
    # model (LlamaForCausalLM, grouped-query attention)
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    # optimisation (one AdamW run over both phases)
    learning_rate: float = 2e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 50
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.98
    grad_clip: float = 1.0
    # phase 1: copy drills
    drill_steps: int = 200
    drill_batch_size: int = 64
    order_drill_fraction: float = 0.5
    order_window_min: int = 6
    order_window_max: int = 30
    repeat_min_len: int = 3
    repeat_max_len: int = 8
    repeat_digit_fraction: float = 0.3
    # phase 2: the ticket task
    task_steps: int = 750
    batch_size: int = 16
    sort_chunk_batches: int = 8


def chat_text(messages: Sequence[dict[str, str]], add_generation_prompt: bool) -> str:
    """Render messages exactly as :data:`CHAT_TEMPLATE` does."""
    parts = [f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages]
    if add_generation_prompt:
        parts.append(f"{IM_START}assistant\n")
    return "".join(parts)


# ---------------------------------------------------------------------------
# Data set
# ---------------------------------------------------------------------------

Records = list[dict[str, Any]]


def write_dataset(data_dir: Path, seed: int) -> tuple[Records, Records, dict[str, str]]:
    """Generate the splits, write them as JSONL and return them with their sha256."""
    train, heldout = tickets.split(seed=seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, records in (("train.jsonl", train), ("heldout.jsonl", heldout)):
        payload = tickets.to_jsonl(records).encode("utf-8")
        (data_dir / name).write_bytes(payload)
        hashes[name] = hashlib.sha256(payload).hexdigest()
    schema = json.dumps(tickets.ANSWER_SCHEMA, indent=2) + "\n"
    (data_dir / tickets.SCHEMA_FILE).write_text(schema, encoding="utf-8")
    return train, heldout, hashes


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------


def train_tokenizer(train: Sequence[dict[str, Any]], vocab_size: int):
    """Train a byte-level BPE ``tokenizers.Tokenizer`` on the training conversations."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )

    def corpus():
        # Each message as it appears after its <|im_start|> marker, so role
        # names and the (repeated) system prompt get merged too.
        for rec in train:
            for message in rec["messages"]:
                yield f"{message['role']}\n{message['content']}"
            yield f"assistant\n{rec['reference']}"

    tok.train_from_iterator(corpus(), trainer=trainer)
    return tok


def save_tokenizer(tok, out: Path, max_length: int) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``."""
    tok.save(str(out / "tokenizer.json"))
    added = {
        str(tok.token_to_id(t)): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for t in SPECIAL_TOKENS
    }
    _write_json(
        out / "tokenizer_config.json",
        {
            "add_bos_token": False,
            "add_eos_token": False,
            "added_tokens_decoder": added,
            "additional_special_tokens": [IM_START, IM_END],
            "bos_token": ENDOFTEXT,
            "chat_template": CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "eos_token": IM_END,
            "errors": "replace",
            "model_max_length": max_length,
            "pad_token": ENDOFTEXT,
            "split_special_tokens": False,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "unk_token": None,
        },
    )
    _write_json(
        out / "special_tokens_map.json",
        {
            "additional_special_tokens": [IM_START, IM_END],
            "bos_token": ENDOFTEXT,
            "eos_token": IM_END,
            "pad_token": ENDOFTEXT,
        },
    )


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------
# Examples, drills and batching
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One tokenized conversation: prompt ids, then the answer ids that carry the loss."""

    prompt: tuple[int, ...]
    answer: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.prompt) + len(self.answer)


def encode_examples(tok, records: Sequence[dict[str, Any]]) -> list[Example]:
    """Tokenize the prompt (with generation prompt) and the answer plus ``<|im_end|>``."""
    im_end = tok.token_to_id(IM_END)
    out = []
    for rec in records:
        prompt = tok.encode(chat_text(rec["messages"], add_generation_prompt=True)).ids
        answer = tok.encode(rec["reference"]).ids + [im_end]
        out.append(Example(tuple(prompt), tuple(answer)))
    return out


class DrillMaker:
    """Short copy drills for phase 1 of training.

    A model trained from scratch copies a random ``ORD-#####`` number only
    once it has grown an in-context copying ("induction") circuit. A few digits
    per ticket give too weak a signal to grow one within the training budget,
    and the task is then stuck near 15 % exact match (only the ``null``
    answers right). Dense, cheap drills grow the circuit first:

    * *order drills* (``order_drill_fraction`` of them): a random window of a
      training ticket with a fresh order number (and sometimes a distracting
      ``INV-`` number) spliced in; the answer is the order number. The window
      grows from ``order_window_min`` to ``order_window_max`` words over the
      phase, so the copy works across ticket-length contexts.
    * *repeat drills*: a random token string of ``repeat_min_len`` to
      ``repeat_max_len`` tokens (digits only for ``repeat_digit_fraction`` of
      them) to be repeated verbatim.

    Drills have no system prompt, so they never look like a task prompt; the
    loss covers the answer and its ``<|im_end|>``.
    """

    def __init__(self, tok, recipe: Recipe, texts: Sequence[str], rng: random.Random):
        self.tok = tok
        self.recipe = recipe
        self.rng = rng
        self.words = [[w for w in t.split() if "ORD-" not in w] for t in texts]
        specials = {tok.token_to_id(t) for t in SPECIAL_TOKENS}
        self.digits = [tok.token_to_id(str(d)) for d in range(10)]
        self.general = [i for i in range(tok.get_vocab_size()) if i not in specials]
        self.im_start = tok.token_to_id(IM_START)
        self.im_end = tok.token_to_id(IM_END)

    def batch(self, count: int, progress: float) -> list[Example]:
        """Return ``count`` drills; ``progress`` (0..1) sets the order-drill window."""
        return [
            self.order_drill(progress) if self.rng.random() < self.recipe.order_drill_fraction else self.repeat_drill()
            for _ in range(count)
        ]

    def order_drill(self, progress: float) -> Example:
        """A ticket fragment containing an order number; the answer is that number."""
        rng, r = self.rng, self.recipe
        words = rng.choice(self.words)
        longest = round(r.order_window_min + progress * (r.order_window_max - r.order_window_min))
        size = rng.randint(2, max(2, longest))
        start = rng.randint(0, max(0, len(words) - size))
        window = list(words[start : start + size])
        oid = tickets.new_order_id(rng)
        window.insert(rng.randint(0, len(window)), rng.choice(("", "order ", "#", "(order ")) + oid)
        if rng.random() < 0.3:
            window.insert(rng.randint(0, len(window)), f"INV-{rng.randint(10000, 99999)}")
        prompt = f"{IM_START}user\n{' '.join(window)}{IM_END}\n{IM_START}assistant\n"
        return Example(tuple(self.tok.encode(prompt).ids), (*self.tok.encode(oid).ids, self.im_end))

    def repeat_drill(self) -> Example:
        """``<|im_start|> S <|im_end|> <|im_start|>`` followed by ``S <|im_end|>`` as the answer."""
        rng, r = self.rng, self.recipe
        pool = self.digits if rng.random() < r.repeat_digit_fraction else self.general
        seq = tuple(rng.choice(pool) for _ in range(rng.randint(r.repeat_min_len, r.repeat_max_len)))
        return Example((self.im_start, *seq, self.im_end, self.im_start), (*seq, self.im_end))


def batch_schedule(examples: Sequence[Example], recipe: Recipe, steps: int, rng: random.Random) -> list[list[int]]:
    """Return ``steps`` batches of example indices in a fixed, seeded order.

    Each epoch is a fresh permutation, cut into chunks of
    ``sort_chunk_batches`` batches; each chunk is sorted by length (less
    padding) and its batches are shuffled. A trailing partial batch is dropped.
    """
    batches: list[list[int]] = []
    bs = recipe.batch_size
    chunk = bs * recipe.sort_chunk_batches
    while len(batches) < steps:
        order = list(range(len(examples)))
        rng.shuffle(order)
        epoch: list[list[int]] = []
        for start in range(0, len(order), chunk):
            part = sorted(order[start : start + chunk], key=lambda k: (len(examples[k]), k))
            group = [part[i : i + bs] for i in range(0, len(part), bs) if len(part[i : i + bs]) == bs]
            rng.shuffle(group)
            epoch.extend(group)
        batches.extend(epoch)
    return batches[:steps]


def collate(examples: Sequence[Example], pad_id: int):
    """Right-pad a batch; return input ids, target ids and a 0/1 loss mask over targets.

    Right padding under a causal mask never changes the real positions, so no
    attention mask is needed.
    """
    import torch

    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.float32)
    for row, e in enumerate(examples):
        seq = e.prompt + e.answer
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        # The target at position t is token t + 1: the answer tokens are predicted
        # from positions len(prompt) - 1 .. len(seq) - 2.
        mask[row, len(e.prompt) - 1 : len(seq) - 1] = 1.0
    return ids[:, :-1], ids[:, 1:], mask[:, :-1]


# ---------------------------------------------------------------------------
# Model and training
# ---------------------------------------------------------------------------


def build_model(recipe: Recipe, tok):
    """Create a freshly initialised ``LlamaForCausalLM`` (call after seeding torch)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.intermediate_size,
        num_hidden_layers=recipe.num_hidden_layers,
        num_attention_heads=recipe.num_attention_heads,
        num_key_value_heads=recipe.num_key_value_heads,
        head_dim=recipe.hidden_size // recipe.num_attention_heads,
        max_position_embeddings=recipe.max_position_embeddings,
        rope_theta=recipe.rope_theta,
        rms_norm_eps=recipe.rms_norm_eps,
        hidden_act="silu",
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=tok.token_to_id(ENDOFTEXT),
        eos_token_id=tok.token_to_id(IM_END),
        pad_token_id=tok.token_to_id(ENDOFTEXT),
        use_cache=True,
    )
    config._attn_implementation = "sdpa"
    return LlamaForCausalLM(config)


def lr_at(step: int, total: int, recipe: Recipe, decay_start: int) -> float:
    """Linear warm-up, constant until ``decay_start`` (end of the drills), then cosine decay."""
    if step < recipe.warmup_steps:
        return recipe.learning_rate * (step + 1) / recipe.warmup_steps
    begin = max(decay_start, recipe.warmup_steps)
    if step < begin:
        return recipe.learning_rate
    progress = (step - begin) / max(1, total - begin)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return recipe.learning_rate * (recipe.min_lr_ratio + (1.0 - recipe.min_lr_ratio) * cosine)


def _masked_loss(model, inputs, targets, mask):
    """Mean cross-entropy over the masked (answer) targets."""
    import torch

    logits = model(input_ids=inputs).logits
    token_loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    )
    return (token_loss * mask.reshape(-1)).sum() / mask.sum()


def train_model(
    model,
    tok,
    examples: Sequence[Example],
    texts: Sequence[str],
    recipe: Recipe,
    drill_steps: int,
    task_steps: int,
    log_every: float = 5.0,
) -> dict[str, float]:
    """Run the drill phase then the task phase; return losses and timings.

    One AdamW optimizer and one learning-rate schedule (:func:`lr_at`) span
    both phases: warm-up, constant through the drills, cosine over the task.
    """
    import torch

    pad_id = tok.token_to_id(ENDOFTEXT)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.learning_rate,
        betas=(recipe.adam_beta1, recipe.adam_beta2),
        eps=1e-8,
        foreach=False,
    )
    schedule = batch_schedule(examples, recipe, task_steps, random.Random(recipe.seed))
    drills = DrillMaker(tok, recipe, texts, random.Random(recipe.seed + 1))
    total = drill_steps + task_steps
    stats = {"drill_loss": float("nan"), "final_loss": float("nan"), "drill_seconds": 0.0}
    window: list[float] = []
    model.train()
    start = last_log = time.perf_counter()
    for step in range(total):
        lr = lr_at(step, total, recipe, drill_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        in_drills = step < drill_steps
        if in_drills:
            batch = drills.batch(recipe.drill_batch_size, step / max(1, drill_steps - 1))
        else:
            batch = [examples[k] for k in schedule[step - drill_steps]]
        loss = _masked_loss(model, *collate(batch, pad_id))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()

        window.append(float(loss.detach()))
        now = time.perf_counter()
        phase_end = step in (drill_steps - 1, total - 1)
        if phase_end:
            stats["drill_loss" if in_drills else "final_loss"] = window[-1]
            if in_drills:
                stats["drill_seconds"] = now - start
        if now - last_log >= log_every or phase_end:
            print(
                f"step {step + 1:5d}/{total} [{'drills' if in_drills else 'task'}]"
                f"  loss {sum(window) / len(window):.4f}  lr {lr:.2e}  elapsed {now - start:6.1f}s",
                flush=True,
            )
            window.clear()
            last_log = now
    model.eval()
    stats["train_seconds"] = time.perf_counter() - start
    return stats


def evaluate(
    model, tok, records: Sequence[dict[str, Any]], batch_size: int = 50, max_new_tokens: int = 40
) -> dict[str, Any]:
    """Greedy-decode every record; return exact-match and per-field accuracy."""
    import torch

    pad_id = tok.token_to_id(ENDOFTEXT)
    im_end = tok.token_to_id(IM_END)
    exact = 0
    field_hits = {"category": 0, "priority": 0, "order_id": 0}
    predictions: list[str] = []
    with torch.no_grad():
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            prompts = [tok.encode(chat_text(r["messages"], True)).ids for r in chunk]
            width = max(len(p) for p in prompts)
            ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, p in enumerate(prompts):  # left padding for batched generation
                ids[row, width - len(p) :] = torch.tensor(p)
                mask[row, width - len(p) :] = 1
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=im_end,
                pad_token_id=pad_id,
            )
            for row, rec in enumerate(chunk):
                new = out[row, width:].tolist()
                if im_end in new:
                    new = new[: new.index(im_end)]
                text = tok.decode(new, skip_special_tokens=True)
                predictions.append(text)
                exact += text == rec["reference"]
                parsed = tickets.parse_answer(text) or {}
                for key in field_hits:
                    field_hits[key] += key in parsed and parsed[key] == rec["fields"][key]
    n = max(1, len(records))
    return {
        "n": len(records),
        "exact_match": exact / n,
        "fields": {k: v / n for k, v in field_hits.items()},
        "predictions": predictions,
    }


# ---------------------------------------------------------------------------
# Output folder
# ---------------------------------------------------------------------------


def save_model(model, tok, out: Path) -> None:
    """Save ``config.json``, float32 ``model.safetensors`` and ``generation_config.json``."""
    import torch
    from transformers import GenerationConfig

    model.to(dtype=torch.float32)
    model.save_pretrained(str(out), safe_serialization=True)
    GenerationConfig(
        bos_token_id=tok.token_to_id(ENDOFTEXT),
        eos_token_id=tok.token_to_id(IM_END),
        pad_token_id=tok.token_to_id(ENDOFTEXT),
        do_sample=False,
    ).save_pretrained(str(out))
    for path in out.iterdir():
        if path.is_file():
            path.chmod(0o644)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_training_md(
    out: Path,
    recipe: Recipe,
    seconds: float,
    drill_steps: int,
    task_steps: int,
    stats: dict[str, float],
    data_hashes: dict[str, str],
    n_params: int,
    tokens_per_example: float,
    eval_result: dict[str, Any] | None,
    total_seconds: float,
) -> None:
    """Record the recipe, timings, hashes and held-out accuracy in ``TRAINING.md``."""
    import tokenizers
    import torch
    import transformers

    head_dim = recipe.hidden_size // recipe.num_attention_heads
    lines = [
        "# Embedded default model: training record",
        "",
        "A tiny `LlamaForCausalLM` trained from scratch on the synthetic support-ticket data set",
        "(`datasets/support_tickets`). Re-create this folder with:",
        "",
        "```",
        f"python -m harness.models.embedded.train --seconds {seconds:g}",
        "```",
        "",
        "The run is deterministic: fixed seeds, `torch.use_deterministic_algorithms(True)`,",
        f"{NUM_THREADS} intra-op threads, a fixed data order and a fixed number of optimizer steps",
        "(never a wall-clock stop). With the same machine type and library versions,",
        "`model.safetensors` is byte-identical between runs.",
        "",
        "## Recipe",
        "",
        "Phase 1 (copy drills): short synthetic exercises that teach the model to copy an order",
        "number out of a text (ticket fragments with a fresh `ORD-` number, and random token strings",
        "to repeat). Without them a model this small does not learn to copy the order number within",
        "the budget. Phase 2: the ticket task, loss on the assistant answer tokens (the JSON and",
        "`<|im_end|>`) only. One AdamW optimizer; the learning rate warms up, stays constant during",
        "the drills and follows a cosine decay over the task phase.",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in asdict(recipe).items()]
    lines += [
        f"| head_dim | {head_dim} |",
        "| tie_word_embeddings | False |",
        "| attention | grouped-query (sdpa), RoPE |",
        f"| budget | --seconds {seconds:g}: {drill_steps} drill steps + {task_steps} task steps |",
        "",
        f"Tokenizer: byte-level BPE trained on the training conversations, vocabulary {recipe.vocab_size},"
        " Qwen2-style pre-tokenization (one token per digit), special tokens `<|endoftext|>` (bos/pad),"
        " `<|im_start|>`, `<|im_end|>` (eos); ChatML chat template in `tokenizer_config.json`.",
        "",
        "## Run",
        "",
        f"- parameters: {n_params:,} (float32)",
        f"- task phase: {task_steps} steps x {recipe.batch_size} = "
        f"{task_steps * recipe.batch_size / tickets.TRAIN_SIZE:.2f} epochs of {tickets.TRAIN_SIZE} tickets"
        f" ({tokens_per_example:.1f} tokens per example)",
        f"- loss at the end of the drills: {stats['drill_loss']:.4f}; final task loss: {stats['final_loss']:.4f}",
        f"- training wall time: {stats['train_seconds']:.1f} s (drills {stats['drill_seconds']:.1f} s);"
        f" whole script: {total_seconds:.1f} s",
        f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs; Python {platform.python_version()},"
        f" torch {torch.__version__}, transformers {transformers.__version__},"
        f" tokenizers {tokenizers.__version__}",
        "",
        "## Hashes (sha256)",
        "",
        f"- `datasets/support_tickets/train.jsonl`: `{data_hashes['train.jsonl']}`",
        f"- `datasets/support_tickets/heldout.jsonl`: `{data_hashes['heldout.jsonl']}`",
        f"- `tokenizer.json`: `{_sha256(out / 'tokenizer.json')}`",
        f"- `model.safetensors`: `{_sha256(out / 'model.safetensors')}`",
        "",
    ]
    if eval_result is not None:
        f = eval_result["fields"]
        lines += [
            "## Held-out accuracy (PyTorch, float32, greedy decoding)",
            "",
            f"- exact match of the whole answer string: {eval_result['exact_match']:.1%} (n = {eval_result['n']})",
            f"- per field: category {f['category']:.1%}, priority {f['priority']:.1%}, order_id {f['order_id']:.1%}",
            "",
        ]
    (out / "TRAINING.md").write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def configure_determinism(seed: int) -> None:
    """Seed every RNG and pin torch to deterministic kernels and a fixed thread count."""
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(NUM_THREADS)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def steps_for(seconds: float, recipe: Recipe) -> tuple[int, int]:
    """Scale the recipe's drill and task step counts to a budget of ``seconds``."""
    if seconds <= 0:
        raise ValueError("--seconds must be positive")
    scale = seconds / REFERENCE_SECONDS
    return max(1, round(recipe.drill_steps * scale)), max(1, round(recipe.task_steps * scale))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.models.embedded.train",
        description="Generate the support-ticket data set and train the embedded default model.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model folder to write (default: %(default)s)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where train.jsonl and heldout.jsonl are written (default: %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=REFERENCE_SECONDS,
        help="training budget in reference-machine (2-core) seconds; scales the fixed "
        "step counts, never stops on the clock (default: %(default)s)",
    )
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    parser.add_argument("--log-every", type=float, default=5.0, help="seconds between progress lines")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    recipe = Recipe()
    drill_steps, task_steps = steps_for(args.seconds, recipe)
    configure_determinism(recipe.seed)

    train, heldout, data_hashes = write_dataset(args.data_dir, recipe.data_seed)
    print(f"data: {len(train)} train / {len(heldout)} held-out records in {args.data_dir}", flush=True)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(train, recipe.vocab_size)
    save_tokenizer(tok, out, recipe.max_position_embeddings)
    examples = encode_examples(tok, train)
    tokens_per_example = sum(len(e) for e in examples) / len(examples)
    print(f"tokenizer: vocab {tok.get_vocab_size()}, {tokens_per_example:.1f} tokens per example", flush=True)

    import torch

    torch.manual_seed(recipe.seed)
    model = build_model(recipe, tok)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters; {drill_steps} drill steps + {task_steps} task steps", flush=True)
    texts = [rec["messages"][1]["content"] for rec in train]
    stats = train_model(model, tok, examples, texts, recipe, drill_steps, task_steps, args.log_every)
    print(f"training done in {stats['train_seconds']:.1f}s, final loss {stats['final_loss']:.4f}", flush=True)

    save_model(model, tok, out)
    eval_result = None
    if not args.no_eval:
        eval_result = evaluate(model, tok, heldout)
        f = eval_result["fields"]
        print(
            f"held-out exact match {eval_result['exact_match']:.1%}  category {f['category']:.1%}"
            f"  priority {f['priority']:.1%}  order_id {f['order_id']:.1%}",
            flush=True,
        )
    write_training_md(
        out,
        recipe,
        args.seconds,
        drill_steps,
        task_steps,
        stats,
        data_hashes,
        n_params,
        tokens_per_example,
        eval_result,
        time.perf_counter() - t0,
    )
    print(f"saved {out} (model.safetensors sha256 {_sha256(out / 'model.safetensors')})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
