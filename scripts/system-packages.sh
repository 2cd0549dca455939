#!/bin/sh
# The system packages the platform needs besides Python's, as the Dockerfile installs them:
# a CJK font, so that the monthly report's chart draws Chinese region names (its tests check).
set -e
if [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing a CJK font (fonts-wqy-microhei) for the report's chart" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-wqy-microhei fontconfig >/dev/null
else
  echo "no CJK font: install one (Debian: apt-get install fonts-wqy-microhei) for the report's chart" >&2
fi
