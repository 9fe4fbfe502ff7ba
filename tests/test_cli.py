"""The commands through Typer's runner, in-process, against an index built under tmp_path."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from rag.cli.main import app

runner = CliRunner()


@pytest.fixture
def index_copy(tmp_path, index_dir):
    path = tmp_path / "index"
    shutil.copytree(index_dir, path)
    return path


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_index_prints_a_summary(tmp_path, corpus):
    result = run("index", corpus, "--index-dir", tmp_path / "ix")
    assert result.exit_code == 0, result.output
    assert "5 files, 155 sentences" in result.stdout and "5 embedded" in result.stdout
    again = run("index", corpus, "--index-dir", tmp_path / "ix")
    assert "0 embedded, 5 unchanged" in again.stdout


def test_ask_renders_markers_and_sources(index_copy):
    result = run(
        "ask",
        "Which outlet reported that OpenAI wants to weaken Microsoft's control over its products?",
        "--index-dir",
        index_copy,
    )
    assert result.exit_code == 0, result.output
    answer, sources = result.stdout.split("\n\n", 1)
    assert answer.rstrip().endswith("[1]") and "AIbase" in answer
    assert sources.startswith('[1] 000_804249f35b507f04.txt:2 "AIbase reported')


def test_ask_json_is_the_full_record(index_copy):
    result = run(
        "ask",
        "What does Microsoft want before approving OpenAI's transformation?",
        "--json",
        "-k",
        3,
        "--index-dir",
        index_copy,
    )
    record = json.loads(result.stdout)
    assert len(record["passages"]) == 3 and record["sentences"][0]["citations"][0]["file"].endswith(".txt")


def test_ask_builds_the_index_on_first_use(tmp_path, corpus):
    result = run("ask", "Who is the CEO of Microsoft?", "--index-dir", tmp_path / "fresh", "--corpus", corpus)
    assert result.exit_code == 0, result.output
    assert "Satya Nadella" in result.stdout and (tmp_path / "fresh" / "manifest.json").is_file()


def test_chat_answers_until_exit_and_survives_errors(index_copy):
    result = run(
        "chat",
        "--index-dir",
        index_copy,
        input="Which other cloud providers is OpenAI exploring?\n" + "x" * 3000 + "\nexit\nnever asked\n",
    )
    assert result.exit_code == 0, result.output
    assert "Google Cloud" in result.stdout
    assert "error:" in result.stderr and "never asked" not in result.output


def test_batch_writes_one_line_per_question_and_resumes(tmp_path, index_copy):
    questions = tmp_path / "q.txt"
    questions.write_text(
        "What did Microsoft gain after ChatGPT succeeded?\n\nWho is the CEO of Microsoft?\n", encoding="utf-8"
    )
    out = tmp_path / "answers.jsonl"
    first = run("batch", questions, "-o", out, "--index-dir", index_copy)
    assert first.exit_code == 0, first.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["1", "2"] and all(r["sentences"] for r in lines)

    # A crash mid-write leaves a torn line; a rerun cuts it and answers only what is missing.
    with out.open("a") as f:
        f.write('{"id": "3", "quest')
    questions.write_text(
        questions.read_text() + "What is the name of OpenAI's chief financial officer?\n", encoding="utf-8"
    )
    second = run("batch", questions, "-o", out, "--index-dir", index_copy)
    assert second.exit_code == 0, second.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["1", "2", "3"] and lines[2]["abstained"] is True
    assert "1 answered" in second.stderr and "2 already done" in second.stderr

    # A line inserted at the top renumbers every question: each id whose text changed is answered again,
    # and the run says so, instead of trusting the positions.
    texts = [r["question"] for r in lines]
    questions.write_text("Who leads Microsoft's AI efforts?\n" + "\n".join(texts) + "\n", encoding="utf-8")
    third = run("batch", questions, "-o", out, "--index-dir", index_copy)
    assert third.exit_code == 0, third.output
    assert "4 answered" in third.stderr and "3 answered again" in third.stderr
    from rag.batch import iter_records

    latest = {r["id"]: r["question"] for r in iter_records(out)}
    assert latest == {"1": "Who leads Microsoft's AI efforts?", **{str(i + 2): t for i, t in enumerate(texts)}}


# The floors we hold ourselves to on the dev set (the figures today are all at or above them). One of
# the ten answerable questions (d10, see test_answer.KNOWN_DEV_MISSES) is declined, which costs answer
# accuracy, gold citation and abstention precision (2 right declines of 3).
DEV_FLOORS = {
    "retrieval_recall_at_k": 1.0,
    "retrieval_mrr": 0.7,
    "retrieval_ndcg_at_k": 0.7,
    "answer_accuracy": 0.9,
    "gold_cited": 0.9,
    "citation_recall": 1.0,
    "citation_precision": 1.0,
    "sentences_with_citation": 1.0,
    "citations_verbatim": 1.0,
    "abstention_precision": 0.66,
    "abstention_recall": 1.0,
    "abstention_f1": 0.8,
}


def test_eval_on_the_dev_set_meets_the_floors(tmp_path, index_copy, dev_path):
    saved = tmp_path / "records.jsonl"
    result = run("eval", dev_path, "--index-dir", index_copy, "--json", "--save", saved)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["questions"] == 12 and report["k"] == 5 and report["errors"] == 0
    below = {k: report[k] for k, floor in DEV_FLOORS.items() if report[k] is None or report[k] < floor}
    assert not below, (below, report["failures"])
    assert report["false_abstentions"] <= 0.1 and [f["id"] for f in report["failures"]] == ["d10"]
    assert report["latency_p50_s"] > 0 and len(saved.read_text().splitlines()) == 12

    table = run("eval", dev_path, "--index-dir", index_copy, "--save", saved)  # reuses the saved answers
    assert "retrieval_recall@5" in table.stdout and "d10" in table.stdout


def test_eval_names_each_failure_and_scores_questions_without_gold(tmp_path, index_copy):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "wrong", "question": "Who is the CEO of Microsoft?", "answerable": true, "answer_all": [["Sam Altman"]]}\n'
        '{"id": "trap", "question": "Who is the CEO of Microsoft?", "answerable": false}\n'
        '{"id": "plain", "question": "Which other cloud providers is OpenAI exploring?"}\n'
    )
    result = run("eval", questions, "--index-dir", index_copy, "--json")
    report = json.loads(result.stdout)
    reasons = {f["id"]: f["reasons"] for f in report["failures"]}
    assert reasons == {"wrong": ["answer lacks Sam Altman"], "trap": ["answered a question the articles cannot answer"]}
    assert report["answer_accuracy"] == 0.0 and report["retrieval_mrr"] is None  # no gold: no retrieval figures
    assert report["abstention_recall"] == 0.0 and report["abstention_f1"] == 0.0
    assert report["citation_recall"] == 1.0 and report["citations_verbatim"] == 1.0


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        ('{"question": "ok"}\nnot json\n', ".jsonl", "q.jsonl:2: not valid JSON"),
        ('{"id": 1}\n', ".jsonl", 'needs a "question"'),
        ('{"id": 1, "question": "a"}\n{"id": 1, "question": "b"}\n', ".jsonl", "used twice"),
        ("question\n", ".csv", "must end in .txt"),
        ("\n\n", ".txt", "holds no questions"),
    ],
)
def test_bad_question_files_get_one_line_and_a_nonzero_exit(tmp_path, index_copy, content, suffix, message):
    path = tmp_path / f"q{suffix}"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "kept", "answer": "earlier work"}\n')
    result = run("batch", path, "-o", out, "--index-dir", index_copy)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert out.read_text() == '{"id": "kept", "answer": "earlier work"}\n'


def test_missing_corpus_and_mismatched_index_are_one_line_errors(tmp_path, index_copy):
    result = run("index", tmp_path / "nowhere", "--index-dir", tmp_path / "ix")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    config = tmp_path / "rag.toml"
    config.write_text("chunk_sentences = 5\n")
    result = run("ask", "anything?", "--index-dir", index_copy, "--config", config)
    assert result.exit_code == 2 and "rag index --rebuild" in result.stderr and "Traceback" not in result.output
    config.write_text("k = 0\n")
    result = run("ask", "anything?", "--index-dir", index_copy, "--config", config)
    assert result.exit_code == 1 and "invalid setting k" in result.stderr


@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_command_quietly(index_copy):
    """`rag ask ... | head -1`: the pipe closes under us; no error line, exit 141 as Unix tools give."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ask", "What is Stargate?", "--index-dir", str(index_copy)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=root,
    )
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141 and b"error" not in stderr and b"Traceback" not in stderr, stderr


def test_an_index_split_by_an_older_splitter_is_rebuilt_from_its_corpus_saying_so(index_copy, corpus, caplog):
    """Issue 34: a new splitter changes no setting of the user's, so `rag ask` rebuilds instead of
    stopping, and says why (a warning: stderr in a terminal). Anything else that differs still stops
    with the fix (the test above)."""
    import json

    from rag.config import Settings

    manifest = index_copy / "manifest.json"
    old = json.loads(manifest.read_text())
    old["settings"]["splitter"] = "sentencex-lines-2"
    old["fingerprint"] = "0" * 16
    manifest.write_text(json.dumps(old))
    result = run("ask", "What is Stargate?", "--index-dir", index_copy, "--corpus", corpus)
    assert result.exit_code == 0, result.output
    assert "older version" in caplog.text and "re-indexing" in caplog.text and "[1]" in result.stdout
    rebuilt = json.loads(manifest.read_text())
    assert rebuilt["fingerprint"] == Settings().index_fingerprint()


def test_version_names_the_package_index_format_and_models():
    import hashlib

    from rag import __version__
    from rag.index import FORMAT_VERSION
    from rag.rank.reader import READER_PARAMS

    result = run("--version")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"rag-cite {__version__}"
    assert f"index: format {FORMAT_VERSION}," in result.stdout
    digest = hashlib.sha256(READER_PARAMS.read_bytes()).hexdigest()[:12]
    assert f"reader: sha256:{digest}" in result.stdout
    assert "missing" not in result.stdout  # every shipped weights file is in place


def test_python_dash_m_rag_is_the_rag_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Cited answers from a folder of articles." in done.stdout


def test_messages_name_the_problem_not_a_python_exception(tmp_path, corpus):
    unknown = run("serve", "--generators", "extractive,gpt4")
    assert unknown.exit_code == 1 and "--generators: unknown gpt4" in unknown.output
    bad_port = run("serve", "--port", 99999)
    assert bad_port.exit_code != 0 and "--port" in bad_port.output and "OverflowError" not in bad_port.output
    binary = tmp_path / "rag.toml"
    binary.write_bytes(bytes(range(128, 256)))
    config = run("ask", "What is Stargate?", "--config", binary)
    assert config.exit_code == 1 and "is not UTF-8 text" in config.output
    a_file = next(corpus.glob("*.txt"))
    indexed = run("index", a_file, "--index-dir", tmp_path / "ix")
    assert indexed.exit_code == 1 and f"{a_file} is a file: pass the folder that holds it" in indexed.output


def test_a_failed_first_index_leaves_no_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("index", tmp_path / "empty", "--index-dir", tmp_path / "ix")
    assert result.exit_code == 1 and "no readable" in result.output
    assert not (tmp_path / "ix").exists()
