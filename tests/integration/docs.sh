#!/bin/bash
# docs.sh: the documentation keeps up with the settings table: every setting that
# `acctl config --table` prints is in connect-fcgi(7) and in README.md's configuration table
# with the same default; both man pages render without warnings (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
[ -x "$ACCTL" ] || skip_all "acctl not built"
MAN7="$top_srcdir/doc/connect-fcgi.7"
TMPF="$(mktemp -d "${TMPDIR:-/tmp}/connect-fcgi-docs.XXXXXX")" || exit 99
trap 'rm -rf "$TMPF"' EXIT

# doc_default NAME DEFAULT: how the docs write a default: the build-time template dir as
# $(pkgdatadir) (the migrations' as $(pkgdatadir)/sql), the Conventional Commits regex by its name, nothing as (empty).
doc_default() {
	case "$1:$2" in
	AC_TEMPLATE_DIR:*) echo '$(pkgdatadir)' ;;
	AC_SQL_DIR:*) echo '$(pkgdatadir)/sql' ;;
	*:) echo '(empty)' ;;
	*:'^(build|chore'*) echo 'Conventional Commits' ;;
	*) printf '%s\n' "$2" ;;
	esac
}

"$ACCTL" config --table >"$TMPF/table" || { not_ok "acctl config --table"; done_testing; }
n="$(wc -l <"$TMPF/table")"
check "acctl config --table prints the settings ($n)" [ "$n" -ge 10 ]

# connect-fcgi(7), rendered: a setting's name on a line, "Default: X" on the next.
if command -v groff >/dev/null 2>&1; then
	groff -man -Tascii -P-cbou -rLL=3000n "$MAN7" 2>/dev/null | sed 's/^ *//' >"$TMPF/man7.txt"
else
	# unrendered: .B NAME, then Default: \fBX\fR
	sed -e 's/^\.B //' -e 's/\\fB//g; s/\\fR//g; s/\\-/-/g; s/\\e/\\/g' "$MAN7" >"$TMPF/man7.txt"
fi
# README.md: | `AC_NAME` | default | meaning |
sed -n 's/^| `\(AC_[A-Z0-9_]*\)` | \([^|]*\) |.*/\1\t\2/p' "$top_srcdir/README.md" |
    sed 's/[[:space:]]*$//; s/\t`\(.*\)`$/\t\1/' >"$TMPF/readme"

while IFS= read -r line; do
	# (not read -r a b: IFS whitespace would merge the tabs around an empty default)
	name="${line%%$'\t'*}"
	def="${line#*$'\t'}"
	def="${def%%$'\t'*}"
	want="$(doc_default "$name" "$def")"
	got="$(awk -v n="$name" 'found { print; exit } $0 == n { found = 1 }' "$TMPF/man7.txt")"
	is "$got" "Default: $want" "connect-fcgi(7) documents $name with its default"
	got="$(awk -F'\t' -v n="$name" '$1 == n { print $2; exit }' "$TMPF/readme")"
	is "$got" "$want" "README.md's table documents $name with its default"
done <"$TMPF/table"

# Both man pages render without a warning.
for page in "$top_srcdir/doc/acctl.1" "$MAN7"; do
	if command -v man >/dev/null 2>&1 && man --help 2>&1 | grep -q -- '--warnings'; then
		out="$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
	elif command -v groff >/dev/null 2>&1; then
		out="$(groff -man -Tutf8 -ww -z "$page" 2>&1)"
	elif command -v mandoc >/dev/null 2>&1; then
		out="$(mandoc -T lint -W warning "$page" 2>&1)"
	else
		skip "${page##*/} renders: no man, groff or mandoc"
		continue
	fi
	is "$out" "" "${page##*/} renders without warnings"
done
done_testing
