# Sourced by the scripts in bin/: makes sure `uv` is on PATH, installing it for this user if needed.
if ! command -v uv >/dev/null 2>&1; then
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: installing it with pip (user install)" >&2
    python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  fi
fi
if ! command -v uv >/dev/null 2>&1; then
  UV="python3 -m uv"
else
  UV="uv"
fi
