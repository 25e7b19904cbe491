"""Small helpers every stage uses: atomic files, JSON and TOML reading, timestamps, hashing."""
