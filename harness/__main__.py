"""Command line: ``python -m harness COMMAND``.

report RUN_DIR [--objective NAME]       re-render a run's report from its results.json
compare RUN_A RUN_B [--all] [--min-effect METRIC=VALUE]... [--out F]
                                        what changed from RUN_A to RUN_B, beyond noise and by enough
merge RUN_DIR... [--out DIR]            runs from several machines as one report
package --foundry OUT_DIR [RUN_DIR]     Foundry Local packages of a run's variants
fp16-fixes [--model SPEC] [--out F]     the fp16 cpu corrections measured side by side
int8-routes [--model SPEC] [--out F]    the builder's INT8 and onnxruntime's quantizer's, side by side
toolchain NAME [--cache-dir DIR]        prepare a toolchain (olive, runtime-VERSION) ahead of a run
compatibility [--model SPEC] [--runtimes LIST] [--out F]
                                        which builder release's graphs load and answer in which runtime
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.common.clock import compact_stamp
from harness.errors import HarnessError
from harness.settings.config import OBJECTIVES


def _run_folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _side_by_side_options(command: argparse.ArgumentParser) -> None:
    """The options of the side-by-side measurements (fp16-fixes, int8-routes)."""
    command.add_argument(
        "--model",
        default="smollm2-135m",
        metavar="SPEC",
        help="any --model value of the suites (default: smollm2-135m)",
    )
    command.add_argument("--cache-dir", type=Path, default=Path(".harness-cache"), metavar="DIR")
    command.add_argument(
        "--rounds", type=int, default=5, metavar="N", help="timed rounds after one warm-up (default: 5)"
    )
    command.add_argument("--out", type=Path, default=None, metavar="FILE", help="also write the figures (JSON) here")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description="precision trade-off harness")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report", help="re-render a run's report (report.md, report.html, results.csv, plots) from its results.json"
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    report.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=None,
        help="what the recommendation minimises (default: the run's own setting)",
    )
    comparison = commands.add_parser("compare", help="what changed between two runs, and whether it is noise")
    comparison.add_argument("run_a", type=Path, metavar="RUN_A")
    comparison.add_argument("run_b", type=Path, metavar="RUN_B")
    comparison.add_argument(
        "--all", action="store_true", help="every metric both runs measured, not only the headline ones"
    )
    comparison.add_argument(
        "--min-effect",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="the smallest change of METRIC that counts as changed: 5%% of run A's value, or "
        "0.02 in the metric's unit (repeatable; default: harness.results.compare.MIN_EFFECT)",
    )
    comparison.add_argument("--out", type=Path, default=None, help="also write the comparison (Markdown) to this file")
    merging = commands.add_parser("merge", help="runs from several machines as one report, the machine a dimension")
    merging.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    merging.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the merged run (default: reports/merged-<time> next to the first run)",
    )
    packaging = commands.add_parser("package", help="write a Foundry Local package per variant of a run")
    packaging.add_argument(
        "--foundry",
        type=Path,
        required=True,
        metavar="OUT_DIR",
        help="folder that gets one package folder per variant (e.g. Foundry Local's models folder)",
    )
    packaging.add_argument(
        "run_dir",
        type=Path,
        nargs="?",
        default=Path("reports/latest"),
        metavar="RUN_DIR",
        help="the run whose variants to package (default: reports/latest)",
    )
    fixes = commands.add_parser(
        "fp16-fixes",
        help="build FP32 and fp16 for cpu with each correction "
        "(harness.variants.fp16_cpu) and measure them side by side",
    )
    _side_by_side_options(fixes)
    routes = commands.add_parser(
        "int8-routes",
        help="build INT8 with the builder's -p int8 and with onnxruntime's "
        "MatMulNBits quantizer and measure them side by side",
    )
    _side_by_side_options(routes)
    preparing = commands.add_parser(
        "toolchain",
        help="prepare a toolchain in the cache ahead of a run (the "
        "suites prepare one themselves when it is first needed)",
    )
    preparing.add_argument(
        "name",
        metavar="NAME",
        help="olive (the olive, gptq and awq builders) or "
        "runtime-VERSION (an onnxruntime-genai release for --runtimes)",
    )
    preparing.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".harness-cache"),
        metavar="DIR",
        help="the suites' --cache-dir (default: .harness-cache)",
    )
    matrix = commands.add_parser(
        "compatibility",
        help="build the model with each builder release and answer "
        "with it in each runtime release (docs/compatibility.md)",
    )
    matrix.add_argument(
        "--model", default="embedded", metavar="SPEC", help="any --model value of the suites (default: embedded)"
    )
    matrix.add_argument(
        "--runtimes",
        default="0.18.0,0.14.1",
        metavar="LIST",
        help="onnxruntime-genai releases to load the graphs in (default: 0.18.0,0.14.1)",
    )
    matrix.add_argument("--cache-dir", type=Path, default=Path(".harness-cache"), metavar="DIR")
    matrix.add_argument("--out", type=Path, default=None, metavar="FILE", help="also write the cells (JSON) here")
    args = parser.parse_args(argv)
    try:
        if args.command == "toolchain":
            from harness.common import toolchains

            python = toolchains.prepare(
                toolchains.named(args.name),
                args.cache_dir,
                progress=lambda line: print(f"[harness] {line}", file=sys.stderr),
            )
            print(f"toolchain {args.name}: {python}")
            return 0

        if args.command == "compatibility":
            from harness.common.toolchains import runtime
            from harness.results.store import write_json_atomic
            from harness.run import compatibility

            releases = tuple(v.strip() for v in args.runtimes.split(",") if v.strip())
            for version in releases:
                runtime(version)  # one line for a malformed version, before any build
            result = compatibility.measure(
                args.model, args.cache_dir, releases, progress=lambda line: print(f"[harness] {line}", file=sys.stderr)
            )
            print(compatibility.render(result), end="")
            if args.out is not None:
                write_json_atomic(args.out, result)
            return 0

        from harness.report.render import write_report
        from harness.results.store import write_json_atomic
        from harness.results.view import read

        if args.command == "report":
            results = read(args.run_dir)
            path = write_report(_run_folder(args.run_dir), results, args.objective)
            print(f"wrote {path}")
        elif args.command == "compare":
            from harness.results.compare import compare, parse_min_effects, render

            min_effects = parse_min_effects(args.min_effect)
            text = render(compare(read(args.run_a), read(args.run_b), everything=args.all, min_effects=min_effects))
            print(text, end="")
            if args.out is not None:
                args.out.write_text(text, encoding="utf-8")
        elif args.command == "package":
            from harness.ship.foundry import package_run

            for path in package_run(read(args.run_dir), args.foundry):
                print(f"wrote {path}")
        elif args.command == "fp16-fixes":
            from harness.run import fp16_fixes

            result = fp16_fixes.measure(
                args.model,
                args.cache_dir,
                rounds=args.rounds,
                progress=lambda line: print(f"[harness] {line}", file=sys.stderr),
            )
            print(fp16_fixes.render(result), end="")
            if args.out is not None:
                write_json_atomic(args.out, result)
        elif args.command == "int8-routes":
            from harness.run import int8_routes

            result = int8_routes.compare_routes(
                args.model,
                args.cache_dir,
                rounds=args.rounds,
                progress=lambda line: print(f"[harness] {line}", file=sys.stderr),
            )
            print(int8_routes.render_routes(result), end="")
            if args.out is not None:
                write_json_atomic(args.out, result)
        elif args.command == "merge":
            from harness.results.merge import merge

            merged = merge([read(path) for path in args.run_dirs])
            out = args.out or _run_folder(args.run_dirs[0]).parent / f"merged-{compact_stamp()}"
            try:
                out.mkdir(parents=True, exist_ok=False)
            except FileExistsError:
                raise HarnessError(f"{out} already exists (option --out): choose a new folder") from None
            write_json_atomic(out / "results.json", merged)
            path = write_report(out, read(out))
            print(f"merged {len(args.run_dirs)} runs from {len(merged['machines'])} machine records; wrote {path}")
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only or missing folder: named, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
