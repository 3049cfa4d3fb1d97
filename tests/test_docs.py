"""The shipped documentation is self-contained: no pointers to unshipped files, and every docs link resolves.

(a) No file under ``radgrpo/``, ``tests/``, ``benchmarks/`` (and ``configs/`` where it exists), nor ``README.md`` or
``docs/``, cites the project's internal research notes or style guide (never shipped; the forbidden names are
assembled from pieces below so that this file does not match them), and none carries notes addressed between team
members. A citation of the shipped ``docs/data.md`` is fine; the bare name of the unshipped data notes is not.
(b) Every ``docs/<page>.md`` and ``docs/<page>.md#<anchor>`` written in code, tests, benchmarks or the README names an
existing page and an existing section, and every relative link between the pages of ``docs/`` resolves. Anchors are
computed as GitHub computes them from the Markdown headings.

Run: ``OMP_NUM_THREADS=1 python -m pytest -q tests/test_docs.py``
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCANNED_DIRS = ("radgrpo", "tests", "benchmarks", "configs")
SCANNED_FILES = ("README.md",)
TEXT_SUFFIXES = {
    ".py",
    ".md",
    ".yaml",
    ".yml",
    ".toml",
    ".txt",
    ".cfg",
    ".ini",
    ".json",
    ".jinja",
    ".j2",
    ".html",
    ".sh",
}
MD = r"\." + "md"

#: Unshipped documents, as regexes built from pieces (reason shown in failures).
FORBIDDEN: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("research notes on the paper", re.compile(r"\b" + "pa" + "per" + MD + r"\b")),
    ("research notes on data (cite docs/data.md instead)", re.compile(r"(?<!docs/)\b" + "da" + "ta" + MD + r"\b")),
    ("reference-implementation notes", re.compile(r"\b" + "anch" + "ors_" + r"[A-Za-z]+")),
    ("notes on what a tiny model can learn", re.compile(r"\b" + "learn" + "ability" + MD + r"\b")),
    ("notes on what runs on this stack", re.compile(r"\b" + "feasi" + "bility" + MD + r"\b")),
    ("the internal style guide", re.compile(r"\b" + "ST" + "YLE" + MD + r"\b")),
    ("a path on the development machine", re.compile("/" + "work" + "/" + "shared")),
    ("a section number of those notes (point to a docs/ section instead)", re.compile("\u00a7" + r"\s*\d")),
)
#: Notes between team members.
TEAM_NOTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a note addressed to a team member", re.compile(r"\bNOTE " + r"for " + "the " + r"lead\b", re.IGNORECASE)),
    ("a note addressed to a team member", re.compile(r"\bfor " + "the " + r"lead\b", re.IGNORECASE)),
    ("a helper named by letter", re.compile(r"\bhel" + r"per [A-Z]\b")),
)
DOC_REF = re.compile(r"docs/([A-Za-z0-9_\-]+)\.md(?:#([\w\-]+))?")
MD_LINK = re.compile(r"\]\(([^)\s]*)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def scanned_files() -> list[Path]:
    """Text files of the shipped tree that the citation checks cover (``docs/`` included)."""
    out = [ROOT / f for f in SCANNED_FILES if (ROOT / f).is_file()]
    for d in (*SCANNED_DIRS, "docs"):
        base = ROOT / d
        if base.is_dir():
            out.extend(
                p
                for p in sorted(base.rglob("*"))
                if p.is_file()
                and p.suffix in TEXT_SUFFIXES
                and "__pycache__" not in p.parts
                and not any(part.startswith(".") for part in p.parts[-3:])
            )
    return out


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: link text kept, lower case, punctuation dropped, spaces -> hyphens.

    >>> github_anchor("Soft-F1"), github_anchor("`radgrpo eval` and the `results.json` layout")
    ('soft-f1', 'radgrpo-eval-and-the-resultsjson-layout')
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """All heading anchors of a Markdown page (headings inside fenced code blocks ignored; repeats get -1, -2 ...)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            base = github_anchor(m.group(2))
            k = seen.get(base, 0)
            seen[base] = k + 1
            out.add(base if k == 0 else f"{base}-{k}")
    return out


def _hits(patterns: tuple[tuple[str, re.Pattern[str]], ...]) -> list[str]:
    hits = []
    for path in scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for why, pat in patterns:
                if pat.search(line):
                    hits.append(f"{rel}:{i}: {why}: {line.strip()[:120]}")
    return hits


def test_anchor_rule_matches_github() -> None:
    assert github_anchor("mAP50") == "map50"
    assert github_anchor("verl to TRL mapping") == "verl-to-trl-mapping"
    assert github_anchor("Stage 3: cold-start (optional)") == "stage-3-cold-start-optional"
    assert github_anchor("grounding_soft_f1") == "grounding_soft_f1"
    assert github_anchor("[LoRA](training.md#lora) options") == "lora-options"


def test_forbidden_patterns_catch_what_they_should() -> None:
    def caught(text: str) -> bool:
        return any(p.search(text) for _, p in FORBIDDEN + TEAM_NOTES)

    assert caught("see " + "paper" + ".md (5.3)")
    assert caught("(" + "data" + ".md 2.1)")
    assert not caught("see docs/" + "data" + ".md#record-schema")
    assert caught("anchors" + "_rl 5.2")
    assert caught("RadVLM pitfall \u00a7" + "9.4")
    assert caught("NOTE " + "for the " + "lead: x")
    assert caught("owned by " + "helper" + " A's module")
    assert not caught("Every helper takes a random.Random")


def test_no_citation_of_unshipped_documents() -> None:
    hits = _hits(FORBIDDEN)
    # inside docs/ a relative link to the data page is a link to a shipped file, not to the unshipped notes
    hits = [h for h in hits if not (h.startswith("docs/") and "(cite docs/data.md instead)" in h)]
    assert not hits, "citations of documents the repository does not ship:\n" + "\n".join(hits)


def test_no_notes_between_team_members() -> None:
    hits = _hits(TEAM_NOTES)
    assert not hits, "notes between team members:\n" + "\n".join(hits)


def test_docs_pages_exist() -> None:
    pages = {p.stem for p in DOCS.glob("*.md")}
    assert {"index", "method", "data", "rewards", "metrics", "training", "evaluation"} <= pages
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in sorted(pages - {"index"}):
        assert f"({page}.md)" in index, f"docs/index.md does not link {page}.md"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/index.md" in readme, "README.md does not link docs/index.md"


def test_docs_references_from_code_resolve() -> None:
    cache: dict[str, set[str] | None] = {}
    bad = []
    for path in scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("docs/"):
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for m in DOC_REF.finditer(line):
                page, anchor = m.group(1), m.group(2)
                if page not in cache:
                    f = DOCS / f"{page}.md"
                    cache[page] = anchors(f) if f.is_file() else None
                if cache[page] is None:
                    bad.append(f"{rel}:{i}: docs/{page}.md does not exist")
                elif anchor and anchor not in cache[page]:  # type: ignore[operator]
                    bad.append(f"{rel}:{i}: docs/{page}.md has no section #{anchor}")
    assert not bad, "broken docs references:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_between_docs_pages_resolve(page: str) -> None:
    src = DOCS / page
    bad = []
    for target in MD_LINK.findall(src.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        name, _, anchor = target.partition("#")
        dest = src if not name else (src.parent / name)
        if not dest.is_file():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no section #{anchor} in {dest.name}")
    assert not bad, f"docs/{page}: broken links:\n" + "\n".join(bad)
