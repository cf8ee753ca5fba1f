"""An event's custom validator: a service named in ``PODIUM_CUSTOM_VALIDATORS`` that is POSTed
``{"url": ..., "type": "repo"|"demo"}`` and answers ``{"valid": bool, "message": str}`` (HEAD's Review
Factory protocol)."""

from __future__ import annotations

from typing import Literal

import msgspec

from podium.adapters.link_checks.http import NotChecked, request
from podium.domain.web_services import CheckOutcome


class Verdict(msgspec.Struct):
    valid: bool
    message: str = ""


class CustomValidator:
    def __init__(self, name: str, url: str, *, timeout: float = 10.0) -> None:
        self._name = name
        self._url = url
        self._timeout = timeout

    async def check(self, url: str, part: Literal["repo", "demo"]) -> CheckOutcome:
        service = f"the {self._name} validator"
        try:
            response = await request(
                "POST",
                self._url,
                part=part,
                service=service,
                timeout=self._timeout,
                allow_private=True,  # the deployment's own validator; the link is only sent to it
                json={"url": url, "type": part},
            )
        except NotChecked as exc:
            return exc.outcome
        try:
            if response.status_code != 200:
                raise msgspec.ValidationError(f"HTTP {response.status_code}")
            verdict = msgspec.json.decode(response.content, type=Verdict)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return CheckOutcome("unknown", f"Could not check the {part}: {service} sent an unexpected answer")
        if verdict.valid:
            return CheckOutcome("passed")
        return CheckOutcome("failed", verdict.message or f"The {part} did not pass {service}")
