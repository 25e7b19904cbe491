"""The report: tables, plots and the Markdown/HTML/terminal renderings of a run's results.json."""
