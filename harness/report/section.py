"""What a report section is: a title, paragraphs and a table, which the renderers lay out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    title: str
    anchor: str
    text: list[str] = field(default_factory=list)  # paragraphs (with **bold** and `code`)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    collapsed: bool = False  # long detail: folded in the HTML report
