"""The link validators of project validation (issue 25), one adapter per service, behind the domain's
``LinkValidator`` port: GitHub's API, itch.io pages, the demo itself, and an event's custom validator."""
