"""observe package (see DESIGN.md)."""
