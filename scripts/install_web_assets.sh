#!/usr/bin/env bash
# Install the web lab's third-party browser assets (KaTeX, uPlot) from the npm registry and copy
# the dist files the page needs into src/theoryscope/web/static/vendor/ (git-ignored).
# Idempotent: re-running it reinstalls the pinned versions from web/package-lock.json.
# Nothing is fetched at run time: the server serves these files locally.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
vendor="$root/src/theoryscope/web/static/vendor"

if ! command -v npm >/dev/null 2>&1; then
  echo "install_web_assets: npm not found; install Node.js 18+ (e.g. apt-get install -y nodejs npm)" >&2
  exit 1
fi

cd "$web"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

rm -rf "$vendor.tmp"
mkdir -p "$vendor.tmp/katex" "$vendor.tmp/uplot"
cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css "$vendor.tmp/katex/"
cp -r node_modules/katex/dist/fonts "$vendor.tmp/katex/fonts"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$vendor.tmp/uplot/"
cp node_modules/katex/LICENSE "$vendor.tmp/katex/LICENSE" 2>/dev/null || true
cp node_modules/uplot/LICENSE "$vendor.tmp/uplot/LICENSE" 2>/dev/null || true
{
  echo "katex $(node -p "require('./node_modules/katex/package.json').version")"
  echo "uplot $(node -p "require('./node_modules/uplot/package.json').version")"
} > "$vendor.tmp/VERSIONS"
rm -rf "$vendor"
mv "$vendor.tmp" "$vendor"
echo "install_web_assets: web assets installed in ${vendor#"$root"/}"
