"""Command-line front end of nnrun (Typer)."""
