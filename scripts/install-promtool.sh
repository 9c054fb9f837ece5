#!/bin/sh
# Installs Debian's prometheus package for promtool, which the metrics test
# uses to lint the /metrics output (`promtool check metrics`), unless
# promtool is already in PATH. Safe to run any number of times.
set -eu

if command -v promtool >/dev/null 2>&1; then
	echo "promtool already installed: $(promtool --version 2>&1 | head -n 1)"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# The server's service is not wanted: only its promtool.
$SUDO apt-get install -y --no-install-recommends prometheus

if ! command -v promtool >/dev/null 2>&1; then
	echo "install-promtool: promtool is still missing after apt-get install prometheus" >&2
	exit 1
fi
echo "promtool installed: $(promtool --version 2>&1 | head -n 1)"
