#!/bin/sh
# scripts/lint's format check: an unformatted file fails it, the same code formatted passes.
# Usage: test_format_check.sh SOURCE_DIR
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int  main( ){return 0 ;}\n' > "$tmp/unformatted.cpp"
printf 'int main() {\n    return 0;\n}\n' > "$tmp/formatted.cpp"
if "$src/scripts/lint" --format "$tmp/unformatted.cpp" > "$tmp/out" 2>&1; then
  echo "FAIL: scripts/lint --format accepted an unformatted file" >&2
  cat "$tmp/out" >&2
  exit 1
fi
grep -q "unformatted.cpp" "$tmp/out" || { echo "FAIL: the finding does not name the file" >&2; cat "$tmp/out" >&2; exit 1; }
if ! "$src/scripts/lint" --format "$tmp/formatted.cpp" > "$tmp/out" 2>&1; then
  echo "FAIL: scripts/lint --format refused a formatted file" >&2
  cat "$tmp/out" >&2
  exit 1
fi
echo "ok: an unformatted file fails the format check, a formatted one passes"
