"""Variants and builders: the precision x provider x builder matrix, the builder registry, cached builds, and what a
built graph really is."""
