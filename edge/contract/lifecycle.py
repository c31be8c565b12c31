"""The delivery lifecycle diagram in docs/protocol.md, drawn from the machine's own table
(edge/domain/machine/lifecycle.py), so the document cannot drift from the code."""

from __future__ import annotations

from edge.domain.machine.lifecycle import COMPLETED, TRANSITIONS

BEGIN = "<!-- lifecycle: drawn from edge/domain/machine/lifecycle.py by make contract -->"
END = "<!-- lifecycle: end -->"


def render() -> str:
    """A Mermaid state diagram: every phase, every trigger the table lists, every place the
    trigger may lead ([*] at the end is a completed delivery)."""
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> waiting: arriving"]
    for phase, edges in TRANSITIONS.items():
        for trigger, edge in edges.items():
            for to in edge.to:
                lines.append(f"    {phase} --> {'[*]' if to == COMPLETED else to}: {trigger}")
    lines.append("```")
    return "\n".join(lines)


def updated(document: str) -> str:
    """``document`` with its diagram, between the markers, drawn afresh."""
    start = document.index(BEGIN) + len(BEGIN)
    end = document.index(END)
    return f"{document[:start]}\n{render()}\n{document[end:]}"
