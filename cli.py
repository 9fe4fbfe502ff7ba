"""`python cli.py ...` works like the `rag` command."""

from rag.cli.main import run

if __name__ == "__main__":
    run()
