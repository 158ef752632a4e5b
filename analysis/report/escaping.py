"""Text from the data shown as it is: nothing in a cell or a label can hide, reorder or restyle the report.

Invisible and direction-changing characters (Unicode format characters, category Cf: zero-width
space and joiners, left-to-right and right-to-left marks, embeddings, overrides and isolates, the
byte-order mark) and control characters (category Cc, but tab and line feed) are shown as their code
point, e.g. ``<U+202E>``: a reader sees that they are there, and the text around them keeps its
order. HTML special characters are escaped by Jinja's autoescape and the table renderer; matplotlib draws
every label literally (``text.parse_math`` off in :data:`analysis.report.figures.RC`); long tokens
wrap (``overflow-wrap: anywhere`` in the report's stylesheet).
"""

from __future__ import annotations

import unicodedata

HIDDEN_CATEGORIES = ("Cf", "Cc")
KEPT_CONTROLS = "\t\n"


def visible_text(text: str) -> str:
    """``text`` with every invisible or direction-changing character written as ``<U+XXXX>``.

    Parameters
    ----------
    text : str
        A cell or label from the data.

    Returns
    -------
    str
        The same text when it has no such character; e.g. ``"P<U+202E>1"`` for ``"P\\u202e1"``.
    """
    if text.isprintable():
        return text
    return "".join(
        f"<U+{ord(character):04X}>"
        if unicodedata.category(character) in HIDDEN_CATEGORIES and character not in KEPT_CONTROLS
        else character
        for character in text
    )
