"""What the LLM tests share: the seeds' supplier question, sentences it rests on, and a scripted reply."""

SUPPLIER = "Who was meant to be OpenAI's only supplier of computing resources?"
SOLE = "sole provider of computational resources"
FIRST = "Microsoft first invested $1 billion in OpenAI in 2019."


def reply(fn):
    """A script for tests/chat_server.py: every request answered by ``fn(request)``."""
    return [{"reply": fn}]
