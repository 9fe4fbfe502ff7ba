"""The ``rag`` command line (Typer): each command parses, calls the library, renders."""
