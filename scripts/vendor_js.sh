#!/usr/bin/env bash
# Refreshes the vendored front-end libraries in static/vendor/ from the npm registry.
# The copied files are committed, so neither CI nor collectstatic needs npm.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent chart.js@4.6.1 lightweight-charts@5.2.1
cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map "$here/static/vendor/"
cp node_modules/chart.js/LICENSE.md "$here/static/vendor/chart.js.LICENSE.md"
cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js "$here/static/vendor/"
cp node_modules/lightweight-charts/LICENSE "$here/static/vendor/lightweight-charts.LICENSE"
echo "vendored chart.js 4.6.1 and lightweight-charts 5.2.1 into static/vendor/"
