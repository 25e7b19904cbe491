"""Model sources: the embedded default model, registry presets, GGUF files and Hugging Face folders, each resolved
with a content hash."""
