"""The README documents every setting and profile as the code defines them."""

from pathlib import Path

from harness.settings.config import PROFILES
from harness.settings.registry import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented_with_its_default():
    for setting in SETTINGS:
        option = setting.option + (f" {setting.metavar}" if setting.metavar else "")
        row = f"| `{option}` | `{setting.env}` | `{setting.name}` | `{setting.default}` | {setting.help} |"
        assert row in README, f"README lacks the row for {setting.option}"


def test_every_profile_is_documented():
    for p in PROFILES.values():
        points = ", ".join(f"{x:g}" for x in p.length_points)
        row = (f"| `{p.name}` | {p.warmup} | {p.repetitions} | {p.new_tokens} | {p.smoke_prompts} | "
               f"{points} | {p.length_repetitions} | {p.length_new_tokens} | {p.overhead_pairs} | "
               f"{p.soak_warmup} | {p.soak_iterations} | {f'{p.soak_seconds:g}' if p.soak_seconds else 'no limit'} | "
               f"{p.quality_examples or 'all'} | {p.kld_chunks} |")
        assert row in README, f"README lacks the row for profile {p.name}: {row}"
