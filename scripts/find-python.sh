#!/bin/sh
# Prints the path of an installed Python VERSION (e.g. 3.10): pyenv's build
# first, then pythonVERSION on PATH. Never downloads one; exits 1 if none runs.
set -eu
v="$1"
root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
py="$(ls "$root"/versions/"$v".*/bin/python"$v" 2>/dev/null | tail -n 1 || true)"
[ -n "$py" ] || py="$(command -v "python$v" || true)"
if [ -z "$py" ] || ! "$py" -c pass 2>/dev/null; then
  echo "python$v not found (install it with pyenv or your package manager)" >&2
  exit 1
fi
echo "$py"
