"""The documentation stays true to the code: every setting, profile and metric is documented as the
code defines it, every relative link resolves, and every path the pages name exists."""

import fnmatch
import importlib.util
import re
from pathlib import Path

from harness.measure.metrics import METRICS
from harness.settings.config import PROFILES
from harness.settings.former import RENAMED, RETIRED
from harness.settings.registry import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PAGE = (ROOT / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")
METRICS_PAGE = (ROOT / "docs" / "reference" / "metrics.md").read_text(encoding="utf-8")
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")])

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)
PATH = re.compile(r"`((?:harness|suites|tests|datasets|examples|\.ci|\.github)/[\w./-]*)`")


def test_every_setting_is_documented_with_its_default_in_its_group():
    choices, advanced = SETTINGS_PAGE.split("## Advanced settings", 1)
    advanced, former = advanced.split("## Former names", 1)
    for setting in SETTINGS:
        option = setting.option + (f" {setting.metavar}" if setting.metavar else "")
        row = f"| `{option}` | `{setting.env}` | `{setting.name}` | `{setting.default}` | {setting.help} |"
        section = advanced if setting.advanced else choices
        assert row in section, f"docs/reference/settings.md lacks the row for {setting.option} in its group"
    for renamed in RENAMED:
        forms = [f"`{form}`" if form else "—" for form in (renamed.option, renamed.env, renamed.key)]
        assert f"| {' | '.join(forms)} |" in former, f"docs/reference/settings.md lacks {renamed.new}'s former names"
    for retired in RETIRED:
        row = (
            f"| `{retired.option} {retired.metavar}` | `{retired.env}` | `{retired.key}` | the threshold of the "
            f"gate `{retired.gate}`"
        )
        assert row in former, f"docs/reference/settings.md lacks the retired {retired.option}"
    for option in re.findall(r"^\| `(--[\w-]+)", choices + advanced, re.M):  # no row for a setting that is gone
        assert option in {s.option for s in SETTINGS}, f"docs/reference/settings.md documents {option}, no setting"


def _value(x) -> str:
    if x is None:
        return "no limit"
    if isinstance(x, tuple):
        return ", ".join(f"{v:g}" for v in x)
    return f"{x:g}" if isinstance(x, float) else str(x)


def test_every_profile_is_documented():
    for p in PROFILES.values():
        row = (
            f"| `{p.name}` | {p.warmup} | {p.precision:g} | {p.min_repetitions} | {p.repetitions} | {p.new_tokens} | "
            f"{p.quality_examples or 'all'} | "
            f"{p.kld_chunks} | {p.search_candidates} | {p.search_chunks} |"
        )
        assert row in SETTINGS_PAGE, f"docs/reference/settings.md lacks the row for profile {p.name}: {row}"


def suite_sizes() -> dict[str, dict]:
    """Each suite file's own sizes per profile (its ``SIZES``)."""
    found = {}
    for path in sorted((ROOT / "suites").glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_suite_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "SIZES"):
            found[path.name] = module.SIZES
    return found


def test_every_suites_own_sizes_are_documented():
    sizes = suite_sizes()
    assert {"test_soak.py", "test_input_length.py", "test_smoke.py", "test_overhead.py"} <= set(sizes)
    documented = re.findall(r"^\| `(test_\w+\.py)` \| `(\w+)` \|", SETTINGS_PAGE, re.M)
    expected = []
    for suite, by_profile in sizes.items():
        for name in vars(by_profile["quick"]):
            values = " | ".join(_value(getattr(by_profile[p], name)) for p in PROFILES)
            row = f"| `{suite}` | `{name}` | {values} |"
            assert row in SETTINGS_PAGE, f"docs/reference/settings.md lacks the row for {suite}'s {name}: {row}"
            expected.append((suite, name))
    assert sorted(documented) == sorted(expected), "docs/reference/settings.md documents sizes no suite declares"


def test_every_registered_metric_is_documented():
    """Each metric of the registry matches a name in the first column of a table of the metrics page
    (``foundry_<check>`` and ``ttft_ms@P`` stand for families, ``delta_p_*`` for several names)."""
    documented = set()
    for line in METRICS_PAGE.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            documented.update(
                re.sub(r"@P$", "@*", re.sub(r"<[^>]+>", "*", name)) for name in re.findall(r"`([^`]+)`", first)
            )
    missing = [
        m.name
        for m in METRICS
        if m.name not in documented and not any(fnmatch.fnmatchcase(m.name, d) for d in documented)
    ]
    assert not missing, f"docs/reference/metrics.md does not define {missing}"


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for line in CODE_BLOCK.sub("", page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_links_resolve():
    broken = []
    for page in PAGES:
        text = CODE_BLOCK.sub("", page.read_text(encoding="utf-8"))
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)} -> {target}"
            if not file.is_relative_to(ROOT):
                broken.append(f"{where} (outside the repository)")
            elif not file.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                broken.append(f"{where} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_named_paths_exist():
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in PAGES
        for path in PATH.findall(page.read_text(encoding="utf-8"))
        if not (ROOT / path).exists()
    ]
    assert not missing, "pages name paths that do not exist:\n" + "\n".join(missing)
