#!/bin/sh
# Installs the Debian packages the tests need: gnome-keyring and D-Bus, so the
# suite can start a real freedesktop Secret Service headless, and fish, whose
# syntax `sessman env --format fish` must match, plus zsh, dash and Debian's
# AWS CLI v2 (`awscli`, /usr/bin/aws) for the interoperability suite
# (tests/test_interop.py); the venv's own `aws` stays v1 (tests call each by
# its full path). Does nothing when they are present; needs root (or sudo)
# when they are not.
set -eu
need=""
command -v gnome-keyring-daemon >/dev/null 2>&1 || need="$need gnome-keyring"
command -v dbus-run-session >/dev/null 2>&1 || need="$need dbus"
command -v dbus-send >/dev/null 2>&1 || need="$need dbus-x11"
command -v fish >/dev/null 2>&1 || need="$need fish"
command -v zsh >/dev/null 2>&1 || need="$need zsh"
command -v dash >/dev/null 2>&1 || need="$need dash"
[ -x /usr/bin/aws ] || need="$need awscli"
[ -z "$need" ] && exit 0
echo "installing Debian packages:$need"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
