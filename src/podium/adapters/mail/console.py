"""Development mail: the magic link goes to the log instead of an inbox (PRODUCT §3.8)."""

from __future__ import annotations

import logging

log = logging.getLogger("podium.mail")


class ConsoleMailer:
    """``Mailer`` that logs ``Magic link for <email>: <link>`` at WARNING, so a developer can copy it.

    WARNING rather than INFO so the link shows up even with a quiet log level.
    """

    async def send_magic_link(self, email: str, link: str) -> None:
        log.warning("Magic link for %s: %s", email, link)
