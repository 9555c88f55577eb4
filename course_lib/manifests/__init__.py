"""manifests package (see DESIGN.md)."""
