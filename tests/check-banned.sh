#!/bin/sh
# check-banned.sh: no unsafe string functions in the sources (after curl's checksrc). TAP.
src="${top_srcdir:-$(dirname "$0")/..}/src"
echo "1..1"
hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|sscanf|gets|alloca)[[:space:]]*\(' \
	$(find "$src" -name '*.c' -o -name '*.h') 2>/dev/null | grep -vE '(snprintf|vsnprintf|strtok_r)\(' || true)
if [ -z "$hits" ]; then
	echo "ok 1 - no banned functions in src/"
else
	echo "$hits" | sed 's/^/# /'
	echo "not ok 1 - banned functions in src/"
fi
