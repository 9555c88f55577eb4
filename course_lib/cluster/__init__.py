"""cluster package (see DESIGN.md)."""
