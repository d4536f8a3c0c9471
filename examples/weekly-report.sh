#!/bin/sh
# Write the week's report into reports/YYYY-Www.md of a pipeline and commit exactly that file.
#
#   weekly-report.sh PIPELINE_DIR [pipe report options, e.g. --by owner]
#
# Safe to run from cron: it stops at the first error (set -eu), never asks anything, works from
# the pipeline folder whatever the current one, commits only the report (other changes, staged
# or not, stay as they are), and makes no commit when the report is the same as the one already
# committed. The week is the ISO week of today (PIPE_TODAY when set, as pipe itself reads it).
# Crontab line, every Friday at 17:00:
#
#   0 17 * * 5  /path/to/weekly-report.sh "$HOME/sales" >>"$HOME/.weekly-report.log" 2>&1
#
# PIPE names the pipe command (default: pipe), e.g. PIPE="python3 -m pipecli".
set -eu

usage="usage: weekly-report.sh PIPELINE_DIR [pipe report options]"
dir=${1:?$usage}
shift
cd "$dir"
PIPE=${PIPE:-pipe}

if [ -n "${PIPE_TODAY:-}" ]; then
    week=$(date -d "$PIPE_TODAY" +%G-W%V)   # GNU date; on BSD: date -j -f %Y-%m-%d "$PIPE_TODAY" +%G-W%V
else
    week=$(date +%G-W%V)
fi
file="reports/$week.md"

# shellcheck disable=SC2086  # PIPE may be a command with arguments
$PIPE -C . report --week --format markdown --output "$file" "$@"

git add -- "$file"
if git diff --cached --quiet -- "$file"; then
    echo "weekly-report: $file unchanged, nothing to commit"
    exit 0
fi
git commit --quiet -m "report: week $week" -- "$file"
echo "weekly-report: committed $file"
