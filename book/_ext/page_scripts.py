"""Sphinx extension: each script once per page.

In this book's Jupyter Book 1 build, sphinx-thebe 0.3.1's inline configuration
(``const THEBE_JS_URL = ...``) reached every page twice, and the browser stopped with
"Identifier 'THEBE_JS_URL' has already been declared" (tests/test_site.py loads every page
and fails on such errors). This drops repeated scripts from a page's context, keeping the first
of each (same file, or same inline body, with the same attributes).
"""


def _key(script):
    """What makes two scripts the same: the file (None and "" both mean an inline script, and the
    duplicate came once with each) and the attributes, the inline body among them."""
    attributes = getattr(script, "attributes", {})
    return getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items()))


def unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", unique_scripts, priority=900)  # after the themes add theirs
    return {"parallel_read_safe": True, "parallel_write_safe": True}
