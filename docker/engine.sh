#!/usr/bin/env bash
# Makes sure a Docker engine answers: nothing to do when `docker info` works; otherwise
# installs Debian's docker.io if dockerd is missing and starts dockerd in the background
# (there is no systemd to do it), logging to /var/log/fastpath-dockerd.log, and waits for it.
# Exits 1, saying why, when no engine can be had. Run as root.
#
#   docker/engine.sh          ensure an engine
#   docker/engine.sh --stop   stop the dockerd this script started (none other)
set -uo pipefail
LOG=/var/log/fastpath-dockerd.log
PIDFILE=/run/fastpath-dockerd.pid

started_pid() { # the pid of the dockerd we started, if it still runs
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

if [ "${1:-}" = --stop ]; then
    pid=$(started_pid) || { echo "engine: no dockerd started by docker/engine.sh runs"; rm -f "$PIDFILE"; exit 0; }
    echo "engine: stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    rm -f "$PIDFILE"
    exit 0
fi

server() { docker info -f '{{.ServerVersion}} ({{.Driver}})' 2>/dev/null; }

if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
    if v=$(server); then echo "engine: Docker engine $v answers"; exit 0; fi
    echo "engine: installing docker.io (dockerd, containerd, runc)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io >/dev/null; } ||
        { echo "engine: cannot install docker.io"; exit 1; }
fi
if v=$(server); then echo "engine: Docker engine $v answers"; exit 0; fi

if pid=$(started_pid); then
    echo "engine: dockerd (pid $pid) runs but does not answer yet"
else
    echo "engine: starting dockerd (log: $LOG)"
    # Its own session, so that it outlives this script and a Ctrl-C in the caller's terminal.
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PIDFILE"
fi
for _ in $(seq 1 300); do
    if v=$(server); then echo "engine: Docker engine $v answers (dockerd pid $pid)"; exit 0; fi
    [ -d "/proc/$pid" ] || break
    sleep 0.2
done
if [ -d "/proc/$pid" ]; then
    why="dockerd (pid $pid) runs but gives no answer after 60 s"
else
    why=$(grep -E 'level=fatal|failed to start daemon' "$LOG" | tail -n 1 |
          sed -E 's/.*msg="([^"]*)".*/\1/')
    why="dockerd exited${why:+: $why}"
fi
echo "engine: cannot start a Docker engine ($why)"
echo "engine: the end of dockerd's log ($LOG):"
tail -n 10 "$LOG" | cut -c1-300 | sed 's/^/  /'
exit 1
