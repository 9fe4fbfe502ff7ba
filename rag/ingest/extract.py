"""Text out of the documents people keep: PDF (``rag.ingest.pdf``), HTML pages, Word files and Markdown.

Parsers of untrusted files run in a separate worker process with a time limit per file and a memory
cap, so a pathological file is skipped with its reason instead of hanging or killing an index run. The
worker is ``python -m rag.ingest.extract``: requests and replies are JSON lines on its stdin and stdout.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.ingest.extracted import Extracted, ExtractionError

# Address space a parser may take: a decompression bomb stops there with MemoryError instead of taking
# the machine down. The largest real file measured (a 40 MB, 600-page PDF) peaked under 1 GB.
_WORKER_MEMORY = 4 << 30
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t][^\r\n]*)?$", re.MULTILINE)


# Recorded per extracted file in the manifest: a file extracted by another version is extracted again
# on the next update, so an extraction fix reaches existing indexes without a full rebuild.
EXTRACT_VERSION = 2  # 2: PDFs through pdfium in reading order (issue 34)


def html_text(data: bytes) -> Extracted:
    """The main article of a saved web page (trafilatura): no menus, cookie banners or footers; headings,
    paragraphs, list items and table rows one per line."""
    import trafilatura

    # extensive_search=False: a date only where the page states one (the search guesses from any digits).
    doc = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    blocks: list[tuple[str, bool]] = []
    body = getattr(doc, "body", None)  # a trafilatura Document (as_dict=False)
    if body is not None:
        for el in body:
            if el.tag == "list":
                blocks.extend((_flat(item.itertext()), False) for item in el.iter("item"))
            elif el.tag == "table":
                blocks.extend(
                    ("; ".join(_flat(c.itertext()) for c in row.iter("cell")), False) for row in el.iter("row")
                )
            else:
                blocks.append((_flat(el.itertext()), el.tag == "head"))
    text, headings = _join(blocks)
    if not text:
        raise ExtractionError("no article text found in the HTML page")
    title, date = (getattr(doc, "title", None) or None), (getattr(doc, "date", None) or None)
    return Extracted(text, "html", headings=headings, title=title, date=date)


def docx_text(data: bytes) -> Extracted:
    """Paragraphs and table rows of a Word file in document order; Title and Heading styles are headings."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[tuple[str, bool]] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(("; ".join(_flat([c.text]) for c in row.cells), False) for row in item.rows)
            else:
                style = (item.style.name if item.style is not None else "") or ""
                blocks.append((_flat([item.text]), style == "Title" or style.startswith("Heading")))
        props = document.core_properties
        title, created = props.title, props.created
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ExtractionError(
            f"damaged Word file ({type(e).__name__}), or an old .doc renamed: save it again as .docx"
        ) from e
    text, headings = _join(blocks)
    if not text:
        raise ExtractionError("no text in the Word file")
    return Extracted(
        text, "docx", headings=headings, title=title or None, date=created.date().isoformat() if created else None
    )


def markdown_headings(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of ATX heading lines (``# Title``): they stay headings and never become answer sentences."""
    return tuple((m.start(), m.end()) for m in _MD_HEADING.finditer(text))


def _flat(parts: Any) -> str:
    return " ".join("".join(parts).split())


def _join(blocks: list[tuple[str, bool]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Non-empty blocks one per line, and the spans of those that are headings."""
    lines, headings, at = [], [], 0
    for text, heading in blocks:
        if not text:
            continue
        if heading:
            headings.append((at, at + len(text)))
        lines.append(text)
        at += len(text) + 1
    return "\n".join(lines), tuple(headings)


def _parser(suffix: str) -> Callable[[bytes], Extracted]:
    if suffix == ".pdf":
        from rag.ingest.pdf import pdf_text

        return pdf_text
    return {".html": html_text, ".htm": html_text, ".docx": docx_text}[suffix]


PARSED_SUFFIXES = (".pdf", ".html", ".htm", ".docx")


def extract(path: Path) -> Extracted:
    """Parse one document in this process (no time limit); raises ExtractionError with the skip reason."""
    suffix = path.suffix.lower()
    if suffix not in PARSED_SUFFIXES:
        raise ExtractionError(f"not a document type it parses ({', '.join(PARSED_SUFFIXES)})")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExtractionError(f"unreadable ({e.strerror or e})") from e
    try:
        return _parser(suffix)(data)
    except ExtractionError:
        raise
    except MemoryError as e:
        raise ExtractionError("parsing it ran out of memory: split or simplify the file") from e
    except RecursionError as e:
        raise ExtractionError("too deeply nested to parse") from e
    except Exception as e:  # noqa: BLE001 - a parser bug on one file is that file's skip reason, not the run's end
        raise ExtractionError(f"the parser failed on it ({type(e).__name__}: {e})"[:300]) from e


class Extractor:
    """Parses documents in one worker process, reused across files and replaced after a timeout or a
    crash. Use as a context manager; the worker starts on the first file that needs it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._proc: subprocess.Popen[str] | None = None
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="rag-extract")

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, path: Path) -> Extracted:
        proc = self._proc or self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"path": str(path)}) + "\n")
            proc.stdin.flush()
            line = self._reader.submit(proc.stdout.readline).result(timeout=self.seconds)
        except FutureTimeout:
            self._stop()
            raise ExtractionError(
                f"took over {self.seconds:g} s to parse (parse_timeout): simplify the file or raise the limit"
            ) from None
        except OSError:
            line = ""
        if not line:
            code = self._stop()
            raise ExtractionError(f"the parser crashed on it (exit code {code})")
        reply = json.loads(line)
        if "error" in reply:
            raise ExtractionError(reply["error"])
        return Extracted(
            **{
                **reply,
                "pages": tuple(reply["pages"]),
                "headings": tuple(map(tuple, reply["headings"])),
                "glued_pages": tuple(reply["glued_pages"]),
            }
        )

    def _start(self) -> subprocess.Popen[str]:
        # The worker imports this very package, wherever it was imported from (an install, a checkout
        # on sys.path).
        package_parent = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])),
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rag.ingest.extract"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
        )
        return self._proc

    def _stop(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        proc.kill()
        code = proc.wait()
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                f.close()
        return code

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()  # the worker ends at end of input
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._stop()
        self._reader.shutdown(wait=False)


def _serve() -> None:
    """The worker: one JSON request per stdin line, one JSON reply per stdout line."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (_WORKER_MEMORY, _WORKER_MEMORY))
    except (ImportError, ValueError, OSError):  # not on this platform, or a lower hard limit
        pass
    # Parser warnings about odd files say nothing a user can act on; the skip reason does.
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    # Replies own the real stdout; anything a parser prints goes to stderr instead of into the protocol.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply: dict[str, Any] = asdict(extract(Path(request["path"])))
        except ExtractionError as e:
            reply = {"error": str(e)}
        out.write(json.dumps(reply, ensure_ascii=False) + "\n")
        out.flush()


if __name__ == "__main__":
    # Through the package, so the worker raises and returns the same classes rag.ingest.pdf uses.
    from rag.ingest.extract import _serve as serve

    serve()
