#!/usr/bin/env bash
# Builds the Debian 12 base image of docker/Dockerfile locally, since no image registry is
# reachable: debootstrap a minbase bookworm into a temp dir, from the Debian mirror that this
# machine's apt uses, and `docker import` it as fastpath-base:bookworm. Its apt sources are
# bookworm, bookworm-updates and bookworm-security (the build stage needs rustc-web and
# cargo-web from bookworm-security: bookworm's own are too old for the workspace).
# Idempotent: does nothing when the image exists (FASTPATH_BASE_REBUILD=1 rebuilds it).
# Run as root, with a Docker engine answering (docker/engine.sh).
#
#   FASTPATH_BASE_IMAGE   the image to make (default fastpath-base:bookworm)
#   DEBIAN_MIRROR         the mirror (default: the first Debian URI in /etc/apt/sources.list*,
#                         else http://deb.debian.org/debian)
set -euo pipefail
IMAGE=${FASTPATH_BASE_IMAGE:-fastpath-base:bookworm}

if [ -z "${FASTPATH_BASE_REBUILD:-}" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base: $IMAGE exists ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
    exit 0
fi

# The mirror apt uses here: a deb822 "URIs:" or a one-line "deb URI suite ..." source whose
# suite is bookworm (not -security, which is another archive).
mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            /^[[:space:]]*#/ { next }
            /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) break
                                if ($(i + 1) == "bookworm") { print $i; exit } next }
            /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }
            /^[[:space:]]*$/ { uri = "" }
        ' "$f"
    done | head -n 1
}
MIRROR=${DEBIAN_MIRROR:-$(mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${MIRROR%/debian}/debian-security
[ "$SECURITY" != "$MIRROR/debian-security" ] || SECURITY=http://deb.debian.org/debian-security

if ! command -v debootstrap >/dev/null; then
    echo "base: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

DIR=$(mktemp -d /var/tmp/fastpath-base.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
echo "base: debootstrap --variant=minbase bookworm from $MIRROR (a few minutes)"
start=$(date +%s)
debootstrap --variant=minbase bookworm "$DIR" "$MIRROR" >"$DIR.log" 2>&1 ||
    { tail -n 20 "$DIR.log"; rm -f "$DIR.log"; echo "base: debootstrap failed"; exit 1; }
rm -f "$DIR.log"
cat >"$DIR/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
SRC
# As Docker's debian images: no recommends, no docs or man pages, no apt lists in the image.
echo 'APT::Install-Recommends "false";' >"$DIR/etc/apt/apt.conf.d/90fastpath-norecommends"
cat >"$DIR/etc/dpkg/dpkg.cfg.d/90fastpath-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
rm -rf "$DIR"/var/lib/apt/lists/* "$DIR"/var/cache/apt/archives/*.deb "$DIR"/usr/share/doc/*/changelog* \
       "$DIR"/usr/share/man/* "$DIR"/usr/share/info/* "$DIR"/usr/share/locale/*
rm -f "$DIR/etc/hostname" "$DIR/etc/resolv.conf"
tar -C "$DIR" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    -m "debootstrap --variant=minbase bookworm $MIRROR" - "$IMAGE" >/dev/null
echo "base: $IMAGE built in $(( $(date +%s) - start )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
