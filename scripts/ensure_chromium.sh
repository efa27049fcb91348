#!/usr/bin/env bash
# The browser tier (tests/browser) drives Debian's Chromium. Install it when it is missing and
# we may (root with apt); otherwise say loudly that the tier will be skipped. Never fails.
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Chromium for the browser tests (apt-get install -y chromium) ..."
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      >/tmp/wijkkracht-chromium-install.log 2>&1; then
    exit 0
  fi
  echo "!!! Chromium could not be installed (see /tmp/wijkkracht-chromium-install.log)" >&2
fi
echo "!!! /usr/bin/chromium is missing: the browser tests (tests/browser) will be SKIPPED" >&2
exit 0
