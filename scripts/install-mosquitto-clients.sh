#!/bin/sh
# Installs Debian's mosquitto-clients package (mosquitto_pub, mosquitto_sub)
# for the MQTT end-to-end test, unless both are already there. Safe to run
# any number of times. It installs the clients only, never a broker.
set -eu

if command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1; then
	echo "mosquitto clients already installed: $(command -v mosquitto_pub)"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends mosquitto-clients

if ! command -v mosquitto_pub >/dev/null 2>&1; then
	echo "install-mosquitto-clients: mosquitto_pub is still missing after apt-get install" >&2
	exit 1
fi
echo "mosquitto clients installed: $(command -v mosquitto_pub)"
