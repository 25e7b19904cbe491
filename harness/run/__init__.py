"""The run: resolves the model and data, plans the variants, builds each once, opens each session once, holds the
reference's results, runs the search, records results; no pytest (the plugin and the commands drive it)."""
