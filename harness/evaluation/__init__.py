"""Evaluation data: data sets read and validated, the checks each record carries and how an answer is scored, and
prompt formats."""
