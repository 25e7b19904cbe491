"""Tiny random-weight Hugging Face checkpoints made on the spot, for testing other architectures."""

from __future__ import annotations

import json
from pathlib import Path

CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
          "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = ["What is the capital of France?", "Write one sentence about the sea.", "List three colours.",
          "How many days are in a week?", "Translate good morning into French.", "system user assistant"]


def _tokenizer(folder: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHATML,
        "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "model_max_length": 256}))
    return tokenizer.get_vocab_size()


def make_tiny_model(folder: Path, architecture: str = "qwen2", seed: int = 0) -> Path:
    """A random-weight causal LM (``llama`` or ``qwen2``) with GQA and a ChatML tokenizer."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _tokenizer(folder)
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  bos_token_id=0, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    config_class, model_class = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
    }[architecture]
    torch.manual_seed(seed)
    model = model_class(config_class(**common))
    model.save_pretrained(folder, safe_serialization=True)
    return folder
