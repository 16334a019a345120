#!/bin/sh
# Runs on a verified push to main (see scriptserve.json). Routes run no shell
# syntax, so the steps live here. The payload is on stdin; the fields the route
# maps are in DEPLOY_COMMIT and DEPLOY_PUSHER. Set DEPLOY_DIR to the checkout
# to update (default: the folder this script is in).
set -eu
cd "${DEPLOY_DIR:-$(dirname "$0")}"
echo "deploying ${DEPLOY_COMMIT:-?} pushed by ${DEPLOY_PUSHER:-?}"
git pull --ff-only
if [ -f package.json ]; then
  npm ci --no-audit --no-fund
  npm run build --if-present
fi
echo "deployed $(git rev-parse --short HEAD)"
