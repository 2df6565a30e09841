"""The bibliography: labelled author-year as the text cites it, every entry linked."""

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
from pybtex.database import parse_file  # a test dependency (pyproject.toml): never skipped
from pybtex.plugin import find_plugin


@pytest.fixture(scope="module")
def labels():
    spec = importlib.util.spec_from_file_location("authoryear_bib", ROOT / "book" / "_ext" / "authoryear_bib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.register()
    module.register()  # twice, as Sphinx may: no error
    style = find_plugin("pybtex.style.formatting", "authoryear")()
    entries = parse_file(ROOT / "book" / "references.bib").entries
    return {entry.key: entry.label for entry in style.format_entries(entries.values())}


def test_entries_are_labelled_by_author_and_year_not_numbered(labels):
    assert labels["huang2017densely"] == "Huang et al., 2017"
    assert labels["simonyan2015very"] == "Simonyan and Zisserman, 2015"
    assert labels["krizhevsky2009learning"] == "Krizhevsky, 2009"
    assert labels["srivastava2015highway"] == "Srivastava et al., 2015"
    assert not any(label.isdigit() for label in labels.values())


def test_works_that_share_authors_and_year_get_letters(labels):
    assert {labels["he2016deep"], labels["he2016identity"]} == {"He et al., 2016a", "He et al., 2016b"}
    assert len(set(labels.values())) == len(labels)


def test_latex_in_names_becomes_text(labels):
    assert labels["muller2019when"] == "Müller et al., 2019"


def test_the_book_uses_the_style():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["authoryear_bib"] == "book/_ext"
    assert config["sphinx"]["config"]["bibtex_default_style"] == "authoryear"
    assert ":style: authoryear" in (ROOT / "book" / "bibliography.md").read_text()


def test_every_entry_links_to_its_doi_or_arxiv_page_or_a_url():
    entries = parse_file(ROOT / "book" / "references.bib").entries
    unlinked = [key for key, entry in entries.items() if not ({"doi", "url"} & {f.lower() for f in entry.fields})]
    assert not unlinked, f"entries without doi or url: {unlinked}"


def test_one_bibliography_for_the_book():
    """sphinxcontrib-bibtex warns 'duplicate citation' when a chapter lists its own references
    beside book/bibliography.md, and the book build treats warnings as errors."""
    pages = [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("book/**/*.md")]
    holding = [p.relative_to(ROOT).as_posix() for p in pages if "{bibliography}" in p.read_text()]
    assert holding == ["book/bibliography.md"]
