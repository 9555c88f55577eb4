"""sandbox package (see DESIGN.md)."""
