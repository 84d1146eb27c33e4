#!/usr/bin/env bash
# Installs the Debian packages the gateway builds and tests against, when missing.
#   libjansson-dev  JSON, and the json_t that crosses the plugin ABI
#   libssl-dev      JWT signatures (HS256, RS256, ES256), SHA-256 of attachments
#   libsqlite3-dev  history and attachment metadata (embedded, WAL)
#   libhiredis-dev  the Redis ingress (pyams_chat's chat:main channel)
#   libgd-dev       the thumbnailer plugin (PNG, JPEG, GIF)
#   redis-server    a real Redis for the ingress tests
#   libcurl4-openssl-dev  the smtp, webhook and telegram messenger plugins (SMTP+STARTTLS+AUTH, HTTPS)
#   pkg-config      SwiftPM finds the libraries above through it
#   chromium        the browser tests drive the chat page and the admin console in it (headless)
#   openssl, curl   the TLS tests make certificates with the openssl CLI and call HTTPS with curl;
#                   the batch publish test posts with curl (a client this project did not write)
# and from PyPI:
#   playwright      drives Debian's chromium (executable_path; it never downloads a browser)
#   pyams_chat      (in its own venv, see below) the end-to-end test publishes with its real ChatMessage.send()
#   websockets      an independent WebSocket client: the TLS tests receive events over wss with it
set -euo pipefail
packages=(libjansson-dev libssl-dev libsqlite3-dev libhiredis-dev libgd-dev redis-server redis-tools pkg-config
          libcurl4-openssl-dev chromium openssl curl)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# PyPI packages for test servers and clients (into the `python3` on PATH), when missing.
#   aiosmtpd   a real SMTP server, run as a process, receiving the offline-delivery tests' mail
python3 -c "import aiosmtpd" >/dev/null 2>&1 || python3 -m pip install -q aiosmtpd
python3 -c "import websockets" >/dev/null 2>&1 || python3 -m pip install -q websockets
if ! python3 -c "import playwright" >/dev/null 2>&1; then
  echo "installing: playwright (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore playwright
fi

# The real pyams_chat 2.x (the seed's application) and the clients the end-to-end test drives it
# with, in a venv of their own at a fixed path (PyamsEndToEndTests looks there): pyams_chat pulls
# in Pyramid, ZODB, Chameleon, Pillow and ~110 packages (≈280 MB, several minutes), which must not
# mix with the system Python's. Pinned so a new release cannot change the test under us.
#   pyams_chat  ChatMessage.send() publishes to chat:main; get_notifications reads the list
#   websockets  WebSocket clients the gateway did not write (accessToken subprotocol, Origin)
#   redis       pyams_chat's own Redis client (already a dependency; listed for clarity)
pyams_venv="${PYAMS_VENV:-$HOME/.cache/chat-gateway/pyams-venv}"
if ! "$pyams_venv/bin/python" -c "import pyams_chat.message, websockets, redis" >/dev/null 2>&1; then
  echo "installing: pyams_chat, websockets into $pyams_venv (PyPI)"
  python3 -m venv "$pyams_venv"
  "$pyams_venv/bin/pip" install --quiet --disable-pip-version-check pyams_chat==2.1.5 websockets redis
fi
