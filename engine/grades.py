"""The programme's grades (等级), best first: what a monthly check or a supervision round gives a teacher or school.

The decisions of the library (processes/*.dmn) give them; the dashboard, the monthly oversight and the circulars
count them in this order.
"""

from __future__ import annotations

BANDS = ("优秀", "良好", "合格", "不合格")
