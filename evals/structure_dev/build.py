"""Build the small structure dev set (issue 8, items 1-2) into evaldata-shaped folders.

    python evals/structure_dev/build.py OUT    # OUT/text and OUT/pdf, then:
    rag eval --dataset OUT/text --no-baseline ; rag eval --dataset OUT/pdf --no-baseline

Documents are real package documentation on this machine (nobody here wrote them): a
hard-wrapped .txt, a Markdown file with headings and lists, an HTML page; the .txt and the
HTML are also printed to PDF by headless chromium (with its default header/footer).
Each document's text is what rag.loaders extracts, so the set measures the loaders too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rag.loaders import load_file

DOCS = ["/usr/share/doc/dpkg/spec/triggers.txt", "/usr/share/doc/nodejs/SECURITY.md",
        "/usr/share/doc/base-passwd/users-and-groups.html"]
HERE = Path(__file__).resolve().parent


def print_pdf(src: Path, out: Path) -> None:
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tempfile.mkdtemp(prefix='text-chromium-')}",
                    f"--print-to-pdf={out}", src.as_uri()], check=True, capture_output=True, timeout=300)


def write_set(folder: Path, files: list[Path]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "documents.jsonl", "w", encoding="utf-8") as fh:
        for f in files:
            loaded = load_file(f)
            fh.write(json.dumps({"id": f.stem, "title": loaded.title, "text": loaded.text, "source": f.name}) + "\n")
    shutil.copy(HERE / "questions.jsonl", folder / "questions.jsonl")


def main(out: Path) -> None:
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    files = [Path(shutil.copy(d, src)) for d in DOCS]
    txt, md, html = files
    for f in (txt, html):
        print_pdf(f, f.with_suffix(".pdf"))
    write_set(out / "text", files)
    write_set(out / "pdf", [txt.with_suffix(".pdf"), md, html.with_suffix(".pdf")])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
