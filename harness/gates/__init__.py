"""Release gates: thresholds on registered metrics, parsed from TOML and judged per variant (passed, failed, or not
applicable)."""
