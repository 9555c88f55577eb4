"""provision package (see DESIGN.md)."""
