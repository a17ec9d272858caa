#!/bin/sh
# check-layers.sh: the layers of src/lib include one way, and no source file is over 800 lines. TAP.
#
# src/lib is split into folders by layer (doc/architecture.md), lowest first:
#   base store web auth outbound events routes
# A file of one layer includes headers of its own layer or of a lower one, always by their
# folder ("base/err.h"); the programs (src/fcgi, src/cli) may include any layer. LMDB is the
# store's business: no file outside src/lib/store includes lmdb.h or calls mdb_*; so is libpq
# (libpq-fe.h, PQ*, PG* types). And the
# house's size rule: no .c or .h under src/ over 800 lines.
top="${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}"
LC_ALL=C
export LC_ALL
LAYERS="base store web auth outbound events routes"
MAX=800
# Work under way (issue 14, items 1 and 2): reported as TODO until the item lands, then removed.
PENDING_STORE=""
PENDING_SIZE=""

rank() {
	r=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $r; return; }
		r=$((r + 1))
	done
	echo 99
}

echo "1..5"

# 1: every file of src/lib is in a layer folder
stray=$(cd "$top" && find src/lib -name '*.[ch]' | while read -r f; do
	l=${f#src/lib/}
	l=${l%%/*}
	[ "$(rank "$l")" = 99 ] && echo "$f"
done)
if [ -z "$stray" ]; then
	echo "ok 1 - every file of src/lib is in a layer folder ($LAYERS)"
else
	echo "$stray" | sed 's/^/# not in a layer: /'
	echo "not ok 1 - files of src/lib outside the layer folders"
fi

# 2: includes point down (or across, within a layer), by folder
bad=$(cd "$top" && find src/lib src/fcgi src/cli -name '*.[ch]' | sort | while read -r f; do
	case "$f" in
	src/lib/*) l=${f#src/lib/}; l=${l%%/*}; mine=$(rank "$l") ;;
	*) mine=100 ;;
	esac
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
		h=$(echo "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
		case "$h" in
		config.h|acctl.h) continue ;;
		*/*) ;;
		*) echo "$f:${line%%:*}: \"$h\" names no layer (write \"layer/$h\")"; continue ;;
		esac
		hl=${h%%/*}
		theirs=$(rank "$hl")
		if [ "$theirs" = 99 ]; then
			echo "$f:${line%%:*}: \"$h\" is in no layer"
		elif [ "$theirs" -gt "$mine" ]; then
			echo "$f:${line%%:*}: $l includes $h, a higher layer"
		elif [ ! -f "src/lib/$h" ]; then
			echo "$f:${line%%:*}: \"$h\" does not exist"
		fi
	done
done)
if [ -z "$bad" ]; then
	echo "ok 2 - includes point down the layers"
else
	echo "$bad" | sed 's/^/# /'
	echo "not ok 2 - includes against the layers"
fi

# 3: LMDB only in the store
lm=$(cd "$top" && grep -nE '#[[:space:]]*include[[:space:]]*<lmdb\.h>|\bmdb_[a-z_]+[[:space:]]*\(|\bMDB_(val|txn|env|dbi|cursor)\b' \
	$(find src -name '*.[ch]' ! -path 'src/lib/store/*') 2>/dev/null)
if [ -z "$lm" ]; then
	echo "ok 3 - LMDB is used only in src/lib/store"
else
	echo "$lm" | sed 's/^/# /'
	echo "not ok 3 - LMDB outside src/lib/store${PENDING_STORE:+ # TODO $PENDING_STORE}"
fi

# 4: libpq only in the store (its PostgreSQL backend, store-pg.h)
pq=$(cd "$top" && grep -nE '#[[:space:]]*include[[:space:]]*<libpq-fe\.h>|\bPQ[a-z][A-Za-z]*[[:space:]]*\(|\bPG(conn|result)\b' \
	$(find src -name '*.[ch]' ! -path 'src/lib/store/*') 2>/dev/null)
if [ -z "$pq" ]; then
	echo "ok 4 - libpq is used only in src/lib/store"
else
	echo "$pq" | sed 's/^/# /'
	echo "not ok 4 - libpq outside src/lib/store"
fi

# 5: the size rule
big=$(cd "$top" && find src -name '*.[ch]' | sort | while read -r f; do
	n=$(wc -l < "$f")
	[ "$n" -gt $MAX ] && echo "$f: $n lines"
done)
if [ -z "$big" ]; then
	echo "ok 5 - no source file over $MAX lines"
else
	echo "$big" | sed 's/^/# /'
	echo "not ok 5 - source files over $MAX lines${PENDING_SIZE:+ # TODO $PENDING_SIZE}"
fi
