"""The CJK font the bulletin is set in: Noto Sans CJK SC (SIL Open Font License 1.1),
installed from PyPI with the project (package noto-cjk-sans-otc), never taken from the OS."""
from __future__ import annotations

from pathlib import Path

from noto_cjk_sans_otc import FONT_PATH as _COLLECTION

FONT_PATH = Path(str(_COLLECTION))
# The collection's faces: 0 JP, 1 KR, 2 SC (Simplified Chinese), 3 TC, 4 HK.
SC_INDEX = 2
CJK_FAMILY = "Noto Sans CJK SC"
