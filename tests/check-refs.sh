#!/bin/sh
# check-refs.sh: every § reference in the sources and docs names its document and resolves there. TAP.
#
# A comment cites the protocol notes as `doc/protocol.md §N` or `§N.M`, a list (`§4, §5`) or a
# range (`§4-§6`) following the name; each number must be a heading of doc/protocol.md
# (`## N. ...`, `### N.M ...`). A spec outside the repository is cited by its name: `RFC 7519
# §4.1.4` is left alone. Inside doc/protocol.md a bare §N means that file. Anything else, a bare
# §N in a comment (which document?) or a section that does not exist, fails with file:line.
# Keep a citation on one line: the name and its numbers are matched together.
top="${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}"
LC_ALL=C
export LC_ALL

# scan ROOT: prints "file:line: problem" for every bad reference under ROOT, nothing if all resolve.
scan() {
	root="$1"
	proto="$root/doc/protocol.md"
	if [ ! -f "$proto" ]; then
		echo "doc/protocol.md: missing (the code cites it)"
		return
	fi
	(cd "$root" && grep -rIn '§' --exclude-dir=node_modules --exclude-dir='corpus-*' \
	    --exclude-dir='run-*' --exclude-dir=.git --exclude=check-refs.sh \
	    src tests doc nginx apache scripts README.md Makefile.am configure.ac 2>/dev/null) |
	awk -v proto="$proto" '
	BEGIN {
		while ((getline l < proto) > 0)
			if (match(l, /^#+ [0-9]+(\.[0-9]+)*/)) {
				h = substr(l, RSTART, RLENGTH)
				sub(/^#+ /, "", h)
				H[h] = 1
			}
	}
	# check(where, list): every section number in list ("§4, §5", "§4-§6") is a heading
	function check(where, list,    n, s) {
		while (match(list, /§[0-9]+(\.[0-9]+)*/)) {
			n = substr(list, RSTART + 2, RLENGTH - 2)
			if (!(n in H))
				print where ": §" n " is not a section of doc/protocol.md"
			list = substr(list, RSTART + RLENGTH)
		}
	}
	{
		# grep -n: file:line:text (no colon in our file names)
		i = index($0, ":"); file = substr($0, 1, i - 1); rest = substr($0, i + 1)
		i = index(rest, ":"); line = substr(rest, 1, i - 1); text = substr(rest, i + 1)
		where = file ":" line
		sec = "§[0-9]+(\\.[0-9]+)*"
		more = "((, | and |-|–)" sec ")*"
		# another spec, named: RFC 7515 §7.1, RFC 3986 §3.1, §3.2
		while (match(text, "RFC [0-9]+ " sec more))
			text = substr(text, 1, RSTART - 1) " " substr(text, RSTART + RLENGTH)
		while (match(text, "doc/protocol\\.md " sec more)) {
			s = RSTART; e = RSTART + RLENGTH	# check() matches too
			check(where, substr(text, s, e - s))
			text = substr(text, 1, s - 1) " " substr(text, e)
		}
		if (file == "doc/protocol.md") {
			check(where, text)
			next
		}
		if (index(text, "§"))
			print where ": a § that names no document (write doc/protocol.md §N or RFC NNNN §N)"
	}'
}

echo "1..3"
out="$(scan "$top")"
if [ -z "$out" ]; then
	echo "ok 1 - every § in src/ tests/ doc/ README.md names doc/protocol.md (or an RFC) and resolves to a heading"
else
	echo "not ok 1 - every § in src/ tests/ doc/ README.md names doc/protocol.md (or an RFC) and resolves to a heading"
	printf '%s\n' "$out" | sed 's/^/# /'
fi

# The check itself: a tree with one good and three bad references, planted.
t="$(mktemp -d "${TMPDIR:-/tmp}/check-refs.XXXXXX")" || exit 99
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/doc" "$t/src"
printf '# notes\n## 1. One\n## 2. Two\n### 2.1 Two, one\nSee §2.1 and §1.\n' >"$t/doc/protocol.md"
cat >"$t/src/a.c" <<'EOF'
/* doc/protocol.md §1, §2.1: good; RFC 7519 §4.1.4 and RFC 3986 §3.1, §3.2 too */
/* doc/protocol.md §1-§2 is a good range */
/* doc/protocol.md §3: no such section */
/* §2: which document? */
/* doc/protocol.md §2, §2.2: the second does not exist */
EOF
out="$(scan "$t")"
want="src/a.c:3: §3 is not a section of doc/protocol.md
src/a.c:4: a § that names no document (write doc/protocol.md §N or RFC NNNN §N)
src/a.c:5: §2.2 is not a section of doc/protocol.md"
if [ "$out" = "$want" ]; then
	echo "ok 2 - the check reports a missing section, a bare §, and accepts lists, ranges and RFCs"
else
	echo "not ok 2 - the check reports a missing section, a bare §, and accepts lists, ranges and RFCs"
	printf '%s\n' "$out" | sed 's/^/# got: /'
fi
rm "$t/doc/protocol.md"
out="$(scan "$t")"
case "$out" in
"doc/protocol.md: missing"*) echo "ok 3 - the check fails when doc/protocol.md is missing" ;;
*) echo "not ok 3 - the check fails when doc/protocol.md is missing"; printf '# got: %s\n' "$out" ;;
esac
