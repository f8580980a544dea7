"""Who is an administrator: the one definition every command, query and page asks, kept with the access policy.

An administrator is the built-in ``admin`` account (always, even before its account row exists) or any
active account whose ``is_admin`` flag is set (``huhua accounts password NAME --admin``). The flag is read
from the database each time it is asked, so granting or revoking it takes effect at the caller's next
command or request. The definition lives in :func:`engine.access.identity.is_administrator`; this name stays
for the commands and callers that import it from here.
"""

from __future__ import annotations

from engine.access.identity import is_administrator

__all__ = ["is_administrator"]
