"""GitHub: a repository link names a public repository (its REST API answers for it)."""

from __future__ import annotations

import re
from typing import Literal

from podium.adapters.link_checks.http import NotChecked, request
from podium.domain.web_services import CheckOutcome

GITHUB_REPO = re.compile(
    r"^(?:https?://)?(?:www\.)?github\.com/(?P<owner>[A-Za-z0-9_-]+)/(?P<repo>[A-Za-z0-9_.-]+)", re.IGNORECASE
)
NOT_GITHUB = "Repository URL must be a GitHub URL (e.g. github.com/owner/repo)."


class GithubRepoValidator:
    """``LinkValidator`` over GitHub's ``GET /repos/{owner}/{repo}`` (with a token, 5,000 requests an hour
    instead of 60 per address)."""

    def __init__(self, api_url: str, token: str = "", *, timeout: float = 10.0) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    async def check(self, url: str, part: Literal["repo", "demo"]) -> CheckOutcome:
        match = GITHUB_REPO.match(url)
        if match is None:
            return CheckOutcome("failed", NOT_GITHUB)
        owner, repo = match["owner"], match["repo"].removesuffix(".git")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = await request(
                "GET",
                f"{self._api_url}/repos/{owner}/{repo}",
                part=part,
                service="GitHub",
                timeout=self._timeout,
                allow_private=True,  # the deployment's API address; the link only names the repository
                headers=headers,
            )
        except NotChecked as exc:
            return exc.outcome
        if response.status_code == 200:
            return CheckOutcome("passed")
        if response.status_code == 404:
            return CheckOutcome(
                "failed", f"Repository {owner}/{repo} was not found on GitHub. Make sure it is public."
            )
        return CheckOutcome(
            "unknown", f"Could not check the {part}: GitHub answered HTTP {response.status_code}"
        )
