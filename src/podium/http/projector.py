"""The projector page (``GET /live/{slug}``): an event's public leaderboard, large, updated live.

One self-contained HTML document: no build step, no CDN, a few dozen lines of script around the
browser's ``EventSource``. While the leaderboard is not public it says so, and keeps asking every few
seconds, so the list appears as soon as the organiser opens it.
"""

from __future__ import annotations

import html
from uuid import UUID

RETRY_SECONDS = 3

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · live leaderboard</title>
<style>
  html, body {{ margin: 0; background: #101418; color: #f4f4f4; font-family: system-ui, sans-serif; }}
  main {{ padding: 3vh 5vw; }}
  h1 {{ font-size: 5vh; margin: 0 0 2vh; }}
  #status {{ font-size: 4vh; color: #ffd166; }}
  #status:empty {{ display: none; }}
  ol {{ list-style: none; margin: 0; padding: 0; }}
  li {{ display: flex; gap: 2vw; align-items: baseline; font-size: 4.5vh; padding: 0.8vh 0;
        border-bottom: 1px solid #2a3038; }}
  .rank {{ width: 3em; color: #8d99ae; text-align: right; }}
  .name {{ flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
  .points {{ font-weight: 700; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<main data-event="{event_id}">
  <h1>{title}</h1>
  <p id="status" role="status">Connecting…</p>
  <ol id="board" aria-label="Leaderboard"></ol>
</main>
<script>
"use strict";
const eventId = document.querySelector("main").dataset.event;
const board = document.getElementById("board");
const statusLine = document.getElementById("status");
const streamUrl = "/events/" + eventId + "/projects/live?leaderboard=true";
const listUrl = "/events/" + eventId + "/projects?leaderboard=true";

function show(projects) {{
  statusLine.textContent = projects.length ? "" : "No projects yet.";
  board.replaceChildren(...projects.map((project, index) => {{
    const row = document.createElement("li");
    for (const [cls, text] of [["rank", index + 1], ["name", project.name], ["points", project.points]]) {{
      const cell = document.createElement("span");
      cell.className = cls;
      cell.textContent = String(text);
      row.append(cell);
    }}
    return row;
  }}));
}}

function notPublic() {{
  board.replaceChildren();
  statusLine.textContent = "The leaderboard is not public yet. It appears here as soon as the organiser opens it.";
}}

function connect() {{
  const source = new EventSource(streamUrl);
  source.onmessage = (message) => show(JSON.parse(message.data));
  source.addEventListener("closed", () => {{ source.close(); notPublic(); later(); }});
  source.addEventListener("gone", () => {{ source.close(); statusLine.textContent = "This event no longer exists."; }});
  source.onerror = () => {{
    if (source.readyState !== EventSource.CLOSED) return;  // the browser reconnects by itself
    fetch(listUrl, {{ cache: "no-store" }}).then((answer) => {{
      if (answer.status === 403) notPublic();
      else statusLine.textContent = "Reconnecting…";
    }}, () => {{ statusLine.textContent = "Reconnecting…"; }}).finally(later);
  }};
}}

function later() {{ setTimeout(connect, {retry_ms}); }}

connect();
</script>
</body>
</html>
"""


def projector_page(event_id: UUID, name: str) -> str:
    return _PAGE.format(event_id=event_id, title=html.escape(name), retry_ms=RETRY_SECONDS * 1000)
