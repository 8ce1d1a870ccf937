"""The one path by which data reaches a markdown string on screen.

Streamlit reads markdown (plus its own `:colour[...]`, `:material/icon:` and `$LaTeX$`)
in titles, captions, toasts and the success/info/warning/error boxes. Anything the
public or the user supplied (a brand name, a handle, a post or conversation id, a file
name, an error message quoting a file) goes through `md` before it is put into such a
string, so `![b](http://attacker.example/x.png)` shows as those characters instead of
making the browser fetch an image. Post texts are never rendered as markdown at all
(`st.text`, `st.dataframe`, or HTML-escaped for `st.html`: see `html_text`).
"""

from __future__ import annotations

import html
import re
import string
from pathlib import Path, PurePosixPath, PureWindowsPath

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and every
# markdown, GFM and Streamlit construct starts with one (`!`, `[`, `:`, `$`, `<`, `&`,
# `~`, `*`, `_`, `#`, `|`, ...): escaping them all leaves nothing to interpret. The
# slash alone starts nothing and stays readable in the escaped string.
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation.replace("/", "")) + "])")
# A line break in data would end the paragraph (or the code span) it was put in and
# start a new block the escapes above do not cover: data is shown on one line.
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def one_line(text: object) -> str:
    """Data as a single line: every run of line breaks becomes one space."""
    return _LINE_BREAKS.sub(" ", str(text))


def md(text: object) -> str:
    """Data (a brand name, an id, a file name, a message) escaped for a markdown string."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


def code(text: object) -> str:
    """Data as a markdown code span (a command): shown verbatim, on one line."""
    return "`" + one_line(text).replace("`", "'") + "`"


def html_text(text: object) -> str:
    """Data escaped for HTML (for `st.html`, or markdown with `unsafe_allow_html`)."""
    return html.escape(str(text), quote=True)


def file_name(path: object) -> str:
    """Only the last part of a path (either separator): the server's folders stay private."""
    text = str(path)
    return PureWindowsPath(PurePosixPath(text).name).name or text


def without_folders(text: str, *paths: object) -> str:
    """A message with the folders of `paths` taken out, so it names their files only."""
    folders = set()
    for path in paths:
        folders.add(str(PurePosixPath(str(path)).parent))
        folders.add(str(Path(str(path)).resolve().parent))
    # Longest first, so a folder inside another is taken out whole.
    for folder in sorted(folders - {"", ".", "/"}, key=len, reverse=True):
        text = text.replace(folder + "/", "")
    return text
