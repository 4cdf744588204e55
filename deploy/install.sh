#!/usr/bin/env bash
# Installs PolicyPush as a systemd service. Idempotent: files already in place and identical are
# left alone, and an existing configuration or credential is never overwritten.
#
#   deploy/install.sh [--dry-run] [--binary PATH] [--root DIR]
#
#   --dry-run      print what would be done, change nothing (no root needed)
#   --binary PATH  the release binary (default: .build/release/policypush; build it with
#                  `swift build -c release --product policypush`)
#   --root DIR     install below DIR instead of / (packaging, tests); skips systemd-sysusers,
#                  systemd-tmpfiles and systemctl, which act on the running system
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dry_run=0
binary="$repo/.build/release/policypush"
root=""

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --binary) [ $# -ge 2 ] || { usage >&2; exit 64; }; binary=$2; shift ;;
    --root) [ $# -ge 2 ] || { usage >&2; exit 64; }; root=${2%/}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done

if [ "$dry_run" = 0 ] && [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (or with --dry-run to see what it would do)" >&2
  exit 1
fi
if [ ! -x "$binary" ]; then
  if [ "$dry_run" = 1 ]; then
    echo "note: $binary does not exist yet; build it with: swift build -c release --product policypush"
  else
    echo "install.sh: no binary at $binary; build it with: swift build -c release --product policypush" >&2
    exit 1
  fi
fi

changed=0
# Runs a command, or prints it under --dry-run.
run() {
  if [ "$dry_run" = 1 ]; then
    echo "would run: $*"
  else
    echo "+ $*"
    "$@"
  fi
}

# install_file MODE SRC DEST: installs SRC unless DEST already has the same content.
install_file() {
  local mode=$1 src=$2 dest=$root$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    echo "unchanged: $dest"
    return
  fi
  changed=1
  run install -D -m "$mode" "$src" "$dest"
}

# install_new MODE SRC DEST: installs SRC only when DEST does not exist (operator-owned files).
install_new() {
  local mode=$1 src=$2 dest=$root$3
  if [ -e "$dest" ]; then
    echo "kept: $dest (exists)"
    return
  fi
  changed=1
  run install -D -m "$mode" "$src" "$dest"
}

# The shipped config with paths for /etc: templates next to the config, secrets from systemd's
# credentials directory, and the state directory named, so that the CLI (which has no
# $STATE_DIRECTORY) and the daemon use the same store.
staged=$(mktemp -d)
trap 'rm -rf "$staged"' EXIT
sed -e 's#templates_dir: "\.\./templates"#templates_dir: "templates"#' \
    -e 's#"credentials/#"/run/credentials/policypush.service/#g' \
    -e 's#^  // state_dir: "/var/lib/policypush",#  state_dir: "/var/lib/policypush",#' \
    "$repo/config/policypush.json5" > "$staged/policypush.json5"
grep -q '^  state_dir: "/var/lib/policypush",' "$staged/policypush.json5" || {
  echo "install.sh: could not set state_dir in the staged config" >&2
  exit 1
}
# The package links' secret comes from systemd's credentials directory too (LoadCredential=landing-secret).
sed -i 's#^  landing: { #  landing: { secret_file: "/run/credentials/policypush.service/landing-secret", #' \
  "$staged/policypush.json5"
grep -q '^  landing: { secret_file: "/run/credentials/policypush.service/landing-secret",' "$staged/policypush.json5" || {
  echo "install.sh: could not set landing.secret_file in the staged config" >&2
  exit 1
}

[ -x "$binary" ] && install_file 0755 "$binary" /usr/local/bin/policypush
install_new 0644 "$staged/policypush.json5" /etc/policypush/policypush.json5
for file in "$repo"/config/policies/*; do
  [ -f "$file" ] && install_new 0644 "$file" "/etc/policypush/policies/$(basename "$file")"
done
for file in "$repo"/templates/*; do
  [ -f "$file" ] && install_new 0644 "$file" "/etc/policypush/templates/$(basename "$file")"
done
if [ ! -d "$root/etc/policypush/credentials" ]; then
  run install -d -m 0700 "$root/etc/policypush/credentials"
fi
for file in "$repo"/config/credentials/*; do
  case "$file" in *.md) continue ;; esac
  install_new 0600 "$file" "/etc/policypush/credentials/$(basename "$file")"
done
# The landing secret is this installation's own (never a shipped one: whoever knows it can compute
# every enterprise's link): 32 random bytes as 64 hex digits, generated once, kept on upgrades.
if [ -e "$root/etc/policypush/credentials/landing-secret" ]; then
  echo "kept: $root/etc/policypush/credentials/landing-secret (exists)"
elif [ "$dry_run" = 1 ]; then
  echo "would generate: $root/etc/policypush/credentials/landing-secret (32 random bytes, hex, 0600)"
else
  changed=1
  echo "+ generate $root/etc/policypush/credentials/landing-secret"
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$staged/landing-secret" && echo >> "$staged/landing-secret")
  install -D -m 0600 "$staged/landing-secret" "$root/etc/policypush/credentials/landing-secret"
fi
install_file 0644 "$repo/deploy/systemd/policypush.service" /etc/systemd/system/policypush.service
install_file 0644 "$repo/deploy/systemd/policypush.sysusers" /etc/sysusers.d/policypush.conf
install_file 0644 "$repo/deploy/systemd/policypush.tmpfiles" /etc/tmpfiles.d/policypush.conf
install_file 0644 "$repo/deploy/README.md" /usr/local/share/doc/policypush/README.md

if [ -z "$root" ]; then
  run systemd-sysusers /etc/sysusers.d/policypush.conf
  run systemd-tmpfiles --create /etc/tmpfiles.d/policypush.conf
  run systemctl daemon-reload
else
  echo "skipped (--root): systemd-sysusers, systemd-tmpfiles --create, systemctl daemon-reload"
fi

[ "$changed" = 1 ] || echo "nothing to change: PolicyPush is installed and up to date"
cat <<NEXT

Next steps:
  1. Edit /etc/policypush/policypush.json5: the gateways' base_url (the shipped ones are the
     loopback stubs) and options; secrets are read from /run/credentials/policypush.service/.
  2. Put the real gateway secrets into /etc/policypush/credentials/ (root, 0600); the shipped
     files are the stubs' test secrets. List the ones you use in LoadCredential= (systemctl edit policypush).
  3. Enable and start:   systemctl enable --now policypush
     After an upgrade:   systemctl restart policypush;  after a config change: systemctl reload policypush
  4. Follow the logs:    journalctl -u policypush -f   (warnings only: -p warning)
NEXT
