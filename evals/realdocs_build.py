"""Rebuild the PDF twins of the real-document sets (evals/datasets/realdocs_*_pdf/files).

Every document of realdocs_dev / realdocs_holdout is printed to PDF by headless Chromium,
the way a user would "Save as PDF" from a browser (default page header and footer kept):
.html pages as they are, .txt as a <pre> page (hard line breaks kept), .md rendered to HTML
by markdown-it-py; a .pdf is copied. Run from the repository root:

    python -m evals.realdocs_build realdocs_dev realdocs_holdout
    python -m evals.realdocs_build --print SRC.html OUT.pdf     # one page
"""

from __future__ import annotations

import argparse
import html
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

DATASETS = Path(__file__).resolve().parent / "datasets"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{{font-family:serif;max-width:46em;margin:2em auto}} pre{{white-space:pre-wrap}}</style>"
        "</head><body>{body}</body></html>")


def print_pdf(src: Path, out: Path, timeout: float = 180.0) -> None:
    """Print one local HTML file to PDF with headless Chromium."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="devset-chromium-") as profile:
        cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={out}", src.resolve().as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF for {src}")


def as_html_page(path: Path) -> str:
    """A .txt or .md document as a simple HTML page."""
    text = path.read_text(encoding="utf-8")
    title = html.escape(path.stem)
    if path.suffix == ".md":
        from markdown_it import MarkdownIt

        return PAGE.format(title=title, body=MarkdownIt("commonmark").render(text))
    return PAGE.format(title=title, body=f"<pre>{html.escape(text)}</pre>")


def build_pdf_twin(name: str) -> list[Path]:
    """realdocs_<x>/files/* → realdocs_<x>_pdf/files/<stem>.pdf."""
    src_dir, out_dir = DATASETS / name / "files", DATASETS / f"{name}_pdf" / "files"
    written = []
    for src in sorted(p for p in src_dir.iterdir() if p.suffix in {".txt", ".md", ".html", ".pdf"}):
        out = out_dir / f"{src.stem}.pdf"
        if src.suffix == ".pdf":
            shutil.copyfile(src, out)
        elif src.suffix == ".html":
            print_pdf(src, out)
        else:
            with tempfile.TemporaryDirectory(prefix="devset-page-") as tmp:
                page = Path(tmp) / f"{src.stem}.html"
                page.write_text(as_html_page(src), encoding="utf-8")
                print_pdf(page, out)
        log.info("wrote %s", out)
        written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", help="dataset names, e.g. realdocs_dev")
    ap.add_argument("--print", nargs=2, metavar=("SRC", "OUT"), help="print one HTML file to PDF")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.print:
        print_pdf(Path(args.print[0]), Path(args.print[1]))
    for name in args.sets:
        build_pdf_twin(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
