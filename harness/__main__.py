"""Command line: ``python -m harness COMMAND``.

    report RUN_DIR     re-render RUN_DIR/report.md from RUN_DIR/results.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import HarnessError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness", description="precision trade-off harness")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="re-render a run's report from its results.json")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            from .report import write_report
            from .results import load_results

            results = load_results(args.run_dir)
            path = write_report(args.run_dir if args.run_dir.is_dir() else args.run_dir.parent, results)
            print(f"wrote {path}")
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
