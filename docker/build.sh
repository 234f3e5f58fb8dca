#!/usr/bin/env bash
# Builds the image from the checkout: a Docker engine (docker/engine.sh), the local Debian 12
# base (docker/base.sh), then docker build of docker/Dockerfile, which the layer cache makes
# quick when nothing changed. It is the README's
#   docker/base.sh && docker build --network host -t fastpath -f docker/Dockerfile .
# plus this machine's own certificate authorities (/usr/local/share/ca-certificates/*.crt),
# passed as --build-arg CA_CERTS for networks whose TLS proxy re-signs crates.io.
# Extra arguments go to docker build (--no-cache, --build-arg PMDS=...). Run as root.
#
#   FASTPATH_IMAGE   the image to make (default fastpath)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${FASTPATH_IMAGE:-fastpath}

docker/engine.sh
docker/base.sh
args=()
shopt -s nullglob
crts=(/usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt)
if ((${#crts[@]})); then
    args+=(--build-arg "CA_CERTS=$(cat "${crts[@]}")")
fi
# Without buildx, a docker CLI of 23 or later builds with the legacy builder, unless
# DOCKER_BUILDKIT=1 asks for BuildKit, which it then refuses: the Dockerfile needs neither.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
echo "build: docker build --network host -t $IMAGE -f docker/Dockerfile .${crts[*]:+ (with ${#crts[@]} local CA certificate(s))}"
start=$(date +%s)
# The legacy builder (a docker CLI without buildx) warns that it is deprecated: not ours.
docker build --network host --force-rm "${args[@]}" "$@" -t "$IMAGE" -f docker/Dockerfile . 2>&1 |
    grep -v -E '^(DEPRECATED: The legacy builder|[[:space:]]+(Install the buildx|https://docs.docker.com/go/buildx|BuildKit is currently disabled|environment-variable\.))'
echo "build: $IMAGE ready in $(( $(date +%s) - start )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
