#!/usr/bin/env bash
# Install Debian's chromium for the review-page browser test (tests/test_review_page_browser.py).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (CI runs as root) or sudo.
# Only the Debian package archive is contacted; the browser itself never downloads anything.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo -n)
else
    echo "install_chromium: need root or passwordless sudo to apt-get install chromium" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
