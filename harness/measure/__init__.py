"""Measurements: typed records and their statistics, the metric registry, one module per suite's logic, the machine
lock and the machine."""
