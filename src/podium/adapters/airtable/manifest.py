"""The ``manifest.json`` of an Airtable snapshot, shared by its JSON form
(:mod:`podium.adapters.airtable.snapshot`) and its CSV form (:mod:`podium.adapters.airtable.csv_snapshot`):
the format marker, the record counts and the sha256 of every file. Written last, so a folder without it
is an export that was interrupted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podium.domain.backfill import SourceError

FORMAT = "podium-airtable-snapshot"
VERSION = 1
MANIFEST = "manifest.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a complete snapshot; :class:`SourceError` for an interrupted or foreign one."""
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceError(
            f"{directory} is not a complete snapshot (no {MANIFEST}); run `podium airtable export` again"
        ) from exc
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read {manifest_path}: {exc}") from exc
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or manifest.get("version") != VERSION
    ):
        raise SourceError(f"{manifest_path} is not a {FORMAT} v{VERSION} manifest")
    return manifest


def verify_files(directory: Path, manifest: Mapping[str, Any], *, suffix: str) -> None:
    """Check the sha256 of every ``*suffix`` file the manifest lists (snapshots before sums: nothing)."""
    for name, entry in (manifest.get("files") or {}).items():
        if not name.endswith(suffix):
            continue
        path = directory / name
        if not path.is_file():
            raise SourceError(f"{path} is missing (the manifest lists it)")
        if sha256_of(path) != entry.get("sha256"):
            raise SourceError(f"{path} has changed since the export: its sha256 is not the manifest's")
