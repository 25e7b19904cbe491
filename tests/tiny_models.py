"""Tiny random-weight Hugging Face checkpoints made on the spot, for testing other architectures."""

from __future__ import annotations

import json
from pathlib import Path

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "List three colours.",
    "How many days are in a week?",
    "Translate good morning into French.",
    "system user assistant",
]


def _tokenizer(folder: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "chat_template": CHATML,
                "bos_token": "<|endoftext|>",
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "model_max_length": 256,
            }
        )
    )
    return tokenizer.get_vocab_size()


ARCHITECTURES = ("llama", "qwen2", "qwen3", "mistral", "phi3", "gemma")  # what make_tiny_model can make


def make_tiny_model(folder: Path, architecture: str = "qwen2", seed: int = 0) -> Path:
    """A random-weight causal LM (one of :data:`ARCHITECTURES`) with GQA and a ChatML tokenizer."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _tokenizer(folder)
    common = dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    config_class, model_class = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
        "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
        "phi3": (transformers.Phi3Config, transformers.Phi3ForCausalLM),
        "gemma": (transformers.GemmaConfig, transformers.GemmaForCausalLM),
    }[architecture]
    if architecture in ("qwen3", "gemma"):
        common["head_dim"] = 16
    if architecture == "phi3":  # the builder picks Phi-3's short-context path by this equality
        common["original_max_position_embeddings"] = common["max_position_embeddings"]
    torch.manual_seed(seed)
    model = model_class(config_class(**common))
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def _permuted(weight, heads: int):
    """Rows of a query or key projection in the order llama.cpp stores them (its converter
    interleaves each head's rotary halves; GGUF readers undo it)."""
    rows, *rest = weight.shape
    return weight.reshape(heads, 2, rows // heads // 2, *rest).swapaxes(1, 2).reshape(weight.shape)


def make_tiny_gguf(hf_folder: Path, out: Path) -> Path:
    """The tiny Llama in ``hf_folder`` written as a float32 GGUF file, with its byte-level BPE
    tokenizer and chat template as GGUF metadata, laid out as llama.cpp's converter does."""
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((hf_folder / "config.json").read_text())
    assert config["model_type"] == "llama"
    tok = json.loads((hf_folder / "tokenizer.json").read_text())
    tok_config = json.loads((hf_folder / "tokenizer_config.json").read_text())
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    specials = {t["content"] for t in tok["added_tokens"]}
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]

    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(config["hidden_size"] // heads)
    writer.add_rope_freq_base(float(config.get("rope_theta") or config["rope_parameters"]["rope_theta"]))
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([token for token, _ in vocab])
    writer.add_token_types(
        [gguf.TokenType.CONTROL if token in specials else gguf.TokenType.NORMAL for token, _ in vocab]
    )
    writer.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in tok["model"]["merges"]])
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_pad_token_id(config["pad_token_id"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(tok_config["chat_template"])

    names = {
        "embed_tokens": "token_embd",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
    }
    for name, weight in sorted(load_file(str(hf_folder / "model.safetensors")).items()):
        if name == "lm_head.weight":
            gguf_name = "output.weight"
        elif name == "model.norm.weight":
            gguf_name = "output_norm.weight"
        elif name == "model.embed_tokens.weight":
            gguf_name = "token_embd.weight"
        else:
            _, _, layer, *part, _ = name.split(".")
            gguf_name = f"blk.{layer}.{names['.'.join(part)]}.weight"
        if gguf_name.endswith("attn_q.weight"):
            weight = _permuted(weight, heads)
        elif gguf_name.endswith("attn_k.weight"):
            weight = _permuted(weight, kv_heads)
        writer.add_tensor(gguf_name, weight.astype("float32"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def make_silent_model(folder: Path) -> Path:
    """A tiny Llama whose first generated token is always its end token: every answer is empty.

    Its output head is all zeros, so every logit ties and greedy search takes token 0, which the
    config names as the end token."""
    import torch
    from safetensors.torch import load_file, save_file

    make_tiny_model(folder, "llama", seed=5)
    weights = load_file(str(folder / "model.safetensors"))
    weights["lm_head.weight"] = torch.zeros_like(weights["lm_head.weight"])
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    for name in ("config.json", "generation_config.json"):
        path = folder / name
        if path.is_file():
            config = json.loads(path.read_text())
            config["eos_token_id"] = 0
            path.write_text(json.dumps(config))
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["eos_token"] = "<|endoftext|>"
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return folder
