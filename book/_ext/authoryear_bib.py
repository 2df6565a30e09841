"""Sphinx extension: the bibliography labelled the way the text cites, author and year.

The chapters cite with sphinxcontrib-bibtex's ``author_year`` reference style ("Huang et al.
(2017)"); pybtex's ``plain`` style would number the list [1], [2], ... This registers the pybtex
style ``authoryear``: ``plain``'s formatting and sorting (by author, year, title) with labels
"Huang et al., 2017", "He et al., 2016a" and "He et al., 2016b" where two works share authors
and year. ``_config.yml`` loads it as a local extension and names it as the default style.
"""

from collections import Counter, defaultdict
from string import ascii_lowercase

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person):
    """"van der Maaten" from "van der Maaten, Laurens"; LaTeX such as {\\"u} as plain text."""
    latex = " ".join(person.prelast_names + person.last_names)
    return Text.from_latex(latex).render_as("text")


def author_year(entry):
    """The label of one entry before disambiguation: "Huang et al., 2017"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(person) for person in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels; works that would share a label get a, b, ... after the year, in the
    order of the sorted bibliography."""

    def format_labels(self, sorted_entries):
        labels = [author_year(entry) for entry in sorted_entries]
        shared = {label for label, count in Counter(labels).items() if count > 1}
        seen = defaultdict(int)
        for label in labels:
            if label in shared:
                seen[label] += 1
                label += ascii_lowercase[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


def register():
    for kind, style in (("pybtex.style.labels", AuthorYearLabels), ("pybtex.style.formatting", AuthorYearStyle)):
        try:
            register_plugin(kind, "authoryear", style)
        except Exception:  # already registered (Sphinx reloads extensions between builds)
            pass


def setup(app):
    register()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
