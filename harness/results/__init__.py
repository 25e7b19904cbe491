"""Results: results.json written atomically as a run goes, its JSON Schema, merging runs and comparing two runs."""
