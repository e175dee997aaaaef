#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver (for the MiniWoB++ environment, swirl_wm.envs.miniwob) when
# /usr/bin/chromium is missing. Non-interactive; uses sudo only when not root. Exits 0 with a message when
# apt-get (or root/sudo) is unavailable, so callers can check for /usr/bin/chromium and skip.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "install_chromium: /usr/bin/chromium and /usr/bin/chromedriver already present"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: apt-get not found; install chromium and chromedriver by hand (skipping)"
    exit 0
fi
if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "install_chromium: not root and no password-less sudo; cannot run apt-get (skipping)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver
echo "install_chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium) in $(( $(date +%s) - start )) s"
