#!/usr/bin/env bash
# Starts (or resumes) the local reproduction campaign in the background: every model of Tables
# 3-6 on the `local` profile, 3 seeds, in queue order (seed 66 of Table 5 first), each resumed
# from its last epoch checkpoint. Run folders live outside the work tree ($ATLOP_RUNS, default
# ~/.cache/atlop/runs), so a fresh checkout on a kept machine continues where the last stopped;
# each finished model writes its record into results/models/local/ (commit those) and rewrites
# the tables.
#
#   bash scripts/campaign.sh          start or resume (no-op when already running)
#   bash scripts/campaign.sh status   is it running, and the last lines of its log
#   bash scripts/campaign.sh stop     stop it (SIGTERM: the epoch in progress is dropped)
#
# The binary is copied out of target/ first, so rebuilding the project while it runs is safe.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${ATLOP_CAMPAIGN_DIR:-$HOME/.cache/atlop}
mkdir -p "$state"
pid_file=$state/campaign.pid
log=$state/campaign.log
running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "${1:-start}" in
  status)
    if running; then echo "campaign running (pid $(cat "$pid_file")), log $log"; else echo "campaign not running"; fi
    [ -f "$log" ] && tail -n 5 "$log"
    exit 0 ;;
  stop)
    if running; then kill -TERM "$(cat "$pid_file")"; echo "sent SIGTERM to $(cat "$pid_file")"; else echo "campaign not running"; fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|status|stop]" >&2; exit 2 ;;
esac

if running; then
  echo "campaign already running (pid $(cat "$pid_file")); log $log"
  exit 0
fi
cargo build --release --quiet
bin=$state/atlop-campaign
cp target/release/atlop "$bin.new" && mv "$bin.new" "$bin"
# The records name the commit this copy was built from, not whatever HEAD is when a model starts.
commit=$(git rev-parse HEAD 2>/dev/null || echo '')
if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
echo "== $(date -u +%FT%TZ) start at ${commit:-?}" >> "$log"
ATLOP_GIT_COMMIT=$commit nohup "$bin" experiment all --profile local --seeds 3 --train >> "$log" 2>&1 &
echo $! > "$pid_file"
echo "campaign started (pid $!); log $log"
