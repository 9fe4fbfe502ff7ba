"""`python cli.py ...` works like the `rag` command."""

from rag.cli import app

if __name__ == "__main__":
    app()
