# Sourced by the scripts in bin/ (and .ci/run), from the repository root.
#
# podium_find_uv sets UV to a uv executable: the one on PATH, the official installer's ~/.local/bin/uv,
# or a private copy installed into its own virtualenv under the user's cache directory. The system's
# Python packages are never touched (a distribution Python such as Debian's refuses `pip install`
# outside a virtualenv: PEP 668, "externally-managed-environment").
#
# podium_sync brings .venv in line with uv.lock and compiles it to bytecode, only when it is not already
# in sync: `uv run` itself then runs with --no-sync, so it never recompiles the whole environment.

podium_find_uv() {
  if command -v uv >/dev/null 2>&1; then
    UV=$(command -v uv)
    return 0
  fi
  if [ -x "$HOME/.local/bin/uv" ]; then
    UV="$HOME/.local/bin/uv"
    return 0
  fi
  uv_venv="${XDG_CACHE_HOME:-$HOME/.cache}/podium/uv-venv"
  if [ ! -x "$uv_venv/bin/uv" ]; then
    if ! command -v python3 >/dev/null 2>&1; then
      echo "error: neither uv nor python3 is on PATH. Install Python 3.11+ (or uv: https://docs.astral.sh/uv/)." >&2
      return 1
    fi
    echo "uv not found: installing it into a private virtualenv, $uv_venv (nothing else is changed)" >&2
    rm -rf "$uv_venv"
    mkdir -p "$(dirname "$uv_venv")"
    if ! python3 -m venv "$uv_venv" >&2; then
      rm -rf "$uv_venv"
      echo "error: \`python3 -m venv\` failed: this Python has no venv/ensurepip module." >&2
      echo "  On Debian/Ubuntu: sudo apt-get install python3-venv   (or install uv: https://docs.astral.sh/uv/)" >&2
      return 1
    fi
    # bin/uv appears only once pip has installed it completely: it marks a usable virtualenv.
    if ! "$uv_venv/bin/python" -m pip install --quiet --disable-pip-version-check uv >&2; then
      rm -rf "$uv_venv"
      echo "error: could not install uv from PyPI with pip (network?). Install uv yourself: https://docs.astral.sh/uv/" >&2
      return 1
    fi
  fi
  UV="$uv_venv/bin/uv"
}

podium_sync() {
  if ! "$UV" sync --frozen --check --quiet >/dev/null 2>&1; then
    "$UV" sync --frozen --compile-bytecode
  fi
}

podium_find_uv || exit 1
