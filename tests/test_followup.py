"""Follow-up questions: the rules on their own (pure logic), then `rag chat` rewriting a follow-up over
the seeds, without an LLM and with an API model served by a real local HTTP server."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from rag.answer.followup import by_rules, is_follow_up, rewrite
from rag.cli.main import app

from .chat_server import ChatServer, sid

FIRST = "When did Microsoft first invest in OpenAI?"


@pytest.mark.parametrize(
    ("question", "standalone"),
    [
        ("And how much?", "How much did Microsoft first invest in OpenAI?"),
        ("Why?", "Why did Microsoft first invest in OpenAI?"),
        ("What did it get in return?", "What did Microsoft get in return?"),
        ("And what about Oracle?", "When did Oracle first invest in OpenAI?"),
        ("and how much did they invest?", "How much did Microsoft invest?"),
    ],
)
def test_rules_fill_in_what_the_follow_up_leaves_out(question, standalone):
    assert is_follow_up(question)
    assert rewrite(question, [FIRST]) == standalone


@pytest.mark.parametrize(
    "question", ["How much did Google invest in Anthropic?", "What is Stargate?", "Who is the CEO of OpenAI?"]
)
def test_a_question_of_its_own_is_left_alone(question):
    assert not is_follow_up(question) and rewrite(question, [FIRST]) == question


def test_the_model_rewrites_when_there_is_one_and_the_rules_step_in_when_it_fails():
    prompts = []
    assert (
        rewrite(
            "And how much?", [FIRST], lambda p: prompts.append(p) or "How much did Microsoft invest in OpenAI in 2019?"
        )
        == "How much did Microsoft invest in OpenAI in 2019?"
    )
    assert FIRST in prompts[0] and "And how much?" in prompts[0]
    assert rewrite("And how much?", [FIRST], lambda p: "") == by_rules("And how much?", FIRST)
    assert rewrite("And how much?", [], lambda p: "unused") == "And how much?"  # nothing to lean on


@pytest.fixture
def index_copy(tmp_path, index_dir):
    shutil.copytree(index_dir, tmp_path / "index")
    return tmp_path / "index"


def test_chat_rewrites_a_follow_up_shows_it_dimmed_and_answers_it(index_copy):
    result = CliRunner().invoke(app, ["chat", "--index-dir", str(index_copy)], input=f"{FIRST}\nAnd how much?\nexit\n")
    assert result.exit_code == 0, result.output
    assert "(How much did Microsoft first invest in OpenAI?)" in result.stderr
    # Asked alone, "And how much?" is declined (confidence 0.01); rewritten, both questions are answered.
    assert "The articles do not say" not in result.stdout and result.stdout.count("$1 billion") >= 2


def test_chat_with_an_api_model_asks_it_to_rewrite(index_copy):
    sole = "first invested $1 billion"
    server = ChatServer()

    def script(request):
        prompt = request["messages"][-1]["content"]
        if prompt.startswith("Rewrite the last question"):
            return {"reply": "How much did Microsoft first invest in OpenAI?"}
        return {"reply": f"Microsoft first invested $1 billion in OpenAI. [{sid(request, sole)}]"}

    server.script = script
    try:
        args = ["chat", "--index-dir", str(index_copy), "-g", "openai", "--model", "m", "--base-url", server.base_url]
        result = CliRunner(env={"OPENAI_API_KEY": "test"}).invoke(app, args, input=f"{FIRST}\nAnd how much?\nexit\n")
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    assert "(How much did Microsoft first invest in OpenAI?)" in result.stderr
    rewrites = [r for r in server.requests if r["messages"][-1]["content"].startswith("Rewrite the last question")]
    assert len(rewrites) == 1 and FIRST in rewrites[0]["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        # rewritten, and right
        ("Who is Satya Nadella?", "What did he do?", "What did Satya Nadella do?"),
        (
            "What did the Federal Reserve do to interest rates?",
            "Why did it do that?",
            "Why did the Federal Reserve do that?",
        ),
        ("What was Google's profit last quarter?", "And its revenue?", "Google's revenue?"),
        ("How much did Lufthansa lose?", "And in which year?", "In which year did Lufthansa lose?"),
        # what the rules cannot do right stays as typed (they used to make "Who Stargate worth are the partners?")
        ("How much is Stargate worth?", "Who are the partners?", "Who are the partners?"),
        ("How many jobs will Cadbury cut?", "And why?", "And why?"),
        ("Why did Microsoft hire Mustafa Suleyman?", "What is his role?", "What is his role?"),
        (
            "How much did Deutsche Boerse offer for the LSE?",
            "What about the year before?",
            "What about the year before?",
        ),
    ],
)
def test_without_a_model_a_follow_up_is_rewritten_right_or_not_at_all(previous, question, expected):
    assert rewrite(question, [previous]) == expected
