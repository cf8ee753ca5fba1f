"""Throwaway-mail domains, from the maintained list of the ``mailchecker`` package (issue 15)."""

from __future__ import annotations

from MailChecker import MailChecker


class MailCheckerList:
    """``DisposableEmails`` over mailchecker's list (thousands of domains, updated with each release)."""

    def is_disposable(self, email: str) -> bool:
        return bool(MailChecker.is_blacklisted(email.strip().lower()))
