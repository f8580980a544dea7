"""A Chinese font for PDFs: an installed TrueType font embedded as a subset, else Adobe's STSong.

The embedded font makes the PDF read the same on every PC and keeps its text searchable and
copyable. The setup scripts install Debian's fonts-wqy-microhei; ``HUHUA_CJK_FONT`` names another
file. Without any, the PDF names the standard STSong-Light font, which readers substitute.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/arphic/uming.ttc")


@functools.cache
def chinese_font() -> str:
    """The registered name of the font to write Chinese with."""
    for candidate in (os.environ.get("HUHUA_CJK_FONT"), *CANDIDATES):
        if candidate and Path(candidate).is_file():
            try:
                pdfmetrics.registerFont(TTFont("HuhuaCJK", candidate, subfontIndex=0))
                return "HuhuaCJK"
            except Exception:  # a font file reportlab cannot read: try the next one
                continue
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"
