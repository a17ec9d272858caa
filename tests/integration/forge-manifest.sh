#!/bin/bash
# forge-manifest.sh: `acctl forge manifest` renders forge/bitbucket.yml and forge/jira.yml for a
# deployment, and Atlassian's own validators (npm @forge/manifest, tests/sim/validate-manifest.js)
# accept what it renders. TAP. Environment: top_srcdir, top_builddir, NODE. No network.
#
# What the manifests say (events, endpoints, scopes, the Connect modules of Jira) is checked on the
# manifest as the validator parsed it, and the Jira Connect modules against descriptor/jira.json,
# so that the two cannot drift apart. The validator itself must refuse a broken manifest here, or
# its "valid" would prove nothing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
node=${NODE:-node}
sim=$top_srcdir/tests/sim
acctl=${ACCTL:-$top_builddir/src/cli/acctl}

if ! command -v "$node" >/dev/null 2>&1 || [ ! -d "$sim/node_modules/@forge/manifest" ]; then
	echo "1..0 # SKIP node or tests/sim/node_modules/@forge/manifest missing (npm ci in tests/sim)"
	exit 0
fi
if [ ! -x "$acctl" ]; then
	echo "1..1"
	echo "not ok 1 - acctl not built at $acctl"
	exit 1
fi
unset AC_CONFIG AC_DESCRIPTOR AC_PRODUCT AC_APP_NAME

tmp=$(mktemp -d "${TMPDIR:-/tmp}/forge-manifest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# the templates where an installation has them: AC_TEMPLATE_DIR/forge/PRODUCT.yml
mkdir -p "$tmp/share/forge"
cp "$top_srcdir"/descriptor/forge/bitbucket.yml "$top_srcdir"/descriptor/forge/jira.yml "$tmp/share/forge/"
UUID=0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0
export AC_TEMPLATE_DIR="$tmp/share" AC_FORGE_APP_ID=$UUID AC_APP_KEY=it-forge-app
export AC_BASE_URL=https://app.example.com/connect
WANT_ID=ari:cloud:ecosystem::app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0

# run ARGS...: acctl in $tmp, RC, $tmp/out, $tmp/err; raw COMMAND...: the same for any command
raw() {
	(cd "$tmp" && "$@") >"$tmp/out" 2>"$tmp/err"
	RC=$?
}
run() { raw "$acctl" "$@"; }
# validate FILE: the validator's verdict in VRC, its lines in $tmp/v.out
validate() {
	(cd "$sim" && "$node" validate-manifest.js "$1" --dump) >"$tmp/v.out" 2>&1
	VRC=$?
}
# refused WHAT SETTING COMMAND...: exit 2, SETTING named on stderr, nothing on stdout
refused() {
	local what=$1 setting=$2
	shift 2
	raw "$@"
	if [ "$RC" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -qF -- "$setting" "$tmp/err"; then
		ok "$what: refused (exit 2), naming $setting"
	else
		not_ok "$what: refused (exit 2), naming $setting"
		diag "rc $RC" "$(cat "$tmp/out" "$tmp/err")"
	fi
}

# ---------------------------------------------------------------- both products render and validate
for product in bitbucket jira; do
	run forge manifest --product "$product" --out "$tmp/$product.yml"
	if [ "$RC" -eq 0 ] && [ -s "$tmp/$product.yml" ] && [ ! -s "$tmp/out" ]; then
		ok "$product: acctl forge manifest --out writes the manifest"
	else
		not_ok "$product: acctl forge manifest --out writes the manifest"
		diag "rc $RC" "$(cat "$tmp/err")"
		continue
	fi
	if grep -q '{{' "$tmp/$product.yml"; then
		not_ok "$product: no placeholder left"
	else
		ok "$product: no placeholder left"
	fi
	validate "$tmp/$product.yml"
	if [ "$VRC" -eq 0 ] && ! grep -qv '^manifest ' "$tmp/v.out"; then
		ok "$product: @forge/manifest validates it (success, no error or warning)"
	else
		not_ok "$product: @forge/manifest validates it (success, no error or warning)"
		diag "rc $VRC" "$(grep -v '^manifest ' "$tmp/v.out")"
	fi
	sed -n 's/^manifest //p' "$tmp/v.out" >"$tmp/$product.json"
	# what the manifest means, as Forge reads it: one "ok ..." or "not ok ..." line per check
	PRODUCT=$product WANT_ID=$WANT_ID "$node" - "$tmp/$product.json" "$top_srcdir/descriptor/jira.json" \
	    >"$tmp/checks" 2>&1 <<'JS'
'use strict';
const fs = require('fs');
const [file, jiraDescriptor] = process.argv.slice(2);
const m = JSON.parse(fs.readFileSync(file, 'utf8'));
const product = process.env.PRODUCT;
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const say = (good, what, got) =>
	console.log((good ? 'ok ' : 'not ok ') + what + (good ? '' : ' (got ' + JSON.stringify(got) + ')'));
const mod = m.modules || {};
const endpoints = Object.fromEntries((mod.endpoint || []).map((e) => [e.key, e]));
const pathOf = (key) => endpoints[key] && endpoints[key].route && endpoints[key].route.path;

say(m.app && m.app.id === process.env.WANT_ID, 'app.id is AC_FORGE_APP_ID in its ARI form', m.app && m.app.id);
say(eq(m.remotes, [{ key: 'backend', baseUrl: 'https://app.example.com/connect', operations: ['compute'] }]),
	'one remote, backend, at AC_BASE_URL', m.remotes);
for (const e of mod.endpoint || [])
	say(e.remote === 'backend' && e.auth && e.auth.appSystemToken && e.auth.appSystemToken.enabled === true,
		`endpoint ${e.key}: on the backend, with the app system token`, e);
const events = product === 'bitbucket' ?
	['avi:forge:installed:app', 'avi:forge:upgraded:app', 'avi:bitbucket:created:pullrequest',
		'avi:bitbucket:updated:pullrequest'] :
	['avi:forge:installed:app', 'avi:forge:upgraded:app', 'avi:jira:created:issue'];
const triggers = mod.trigger || [];
say(triggers.length === 1 && eq([...triggers[0].events].sort(), [...events].sort()),
	'one trigger, with the events of the reference handlers', triggers);
say(triggers.length === 1 && pathOf(triggers[0].endpoint) === '/forge/events',
	'the trigger calls /forge/events', triggers[0] && pathOf(triggers[0].endpoint));
const sched = mod.scheduledTrigger || [];
say(sched.length === 1 && sched[0].interval === 'hour' && pathOf(sched[0].endpoint) === '/forge/events',
	'an hourly scheduled trigger on /forge/events (it refreshes the app system token)', sched);
const scopes = (m.permissions && m.permissions.scopes) || [];
const needed = product === 'bitbucket' ?
	['read:app-system-token', 'read:pullrequest:bitbucket', 'write:pullrequest:bitbucket'] :
	['read:app-system-token', 'read:jira-work'];
say(needed.every((s) => scopes.includes(s)), 'the scopes of the handlers: ' + needed.join(' '), scopes);
if (product === 'bitbucket') {
	const mc = mod['bitbucket:mergeCheck'] || [];
	say(mc.length === 1 && pathOf(mc[0].endpoint) === '/forge/merge-check',
		'one merge check, calling /forge/merge-check', mc);
	say(m.app.connect === undefined && m.connectModules === undefined,
		'no Connect on Forge (not available for Bitbucket)', m.app.connect);
} else {
	const d = JSON.parse(fs.readFileSync(jiraDescriptor, 'utf8'));
	say(eq(m.app.connect, { key: 'it-forge-app', remote: 'backend', authentication: 'jwt' }),
		'app.connect: AC_APP_KEY, the backend remote, jwt', m.app.connect);
	const cm = m.connectModules || {};
	const lc = cm['jira:lifecycle'] || [];
	say(lc.length === 1 && lc[0].installed === d.lifecycle.installed && lc[0].uninstalled === d.lifecycle.uninstalled,
		'jira:lifecycle: the lifecycle routes of descriptor/jira.json', lc);
	const wh = (cm['jira:webhooks'] || []).map((w) => w.event + ' ' + w.url).sort();
	const dwh = d.modules.webhooks.map((w) => w.event + ' ' + w.url).sort();
	say(eq(wh, dwh), 'jira:webhooks: the webhooks of descriptor/jira.json', wh);
	say(mod['bitbucket:mergeCheck'] === undefined, 'no merge check', mod['bitbucket:mergeCheck']);
}
JS
	if [ ! -s "$tmp/checks" ] || grep -qv '^\(not \)\?ok ' "$tmp/checks"; then
		not_ok "$product: the manifest's meaning could be checked"
		diag "$(cat "$tmp/checks")"
	fi
	while read -r line; do
		case $line in
		"ok "*) ok "$product: ${line#ok }" ;;
		"not ok "*) not_ok "$product: ${line#not ok }" ;;
		esac
	done <"$tmp/checks"
done

# ---------------------------------------------------------------- the validator can say no
sed 's/key: connect-fcgi-token-refresh/key: connect-fcgi-events/' "$tmp/bitbucket.yml" >"$tmp/dup.yml"
if cmp -s "$tmp/dup.yml" "$tmp/bitbucket.yml"; then
	not_ok "a manifest with a module key used twice could be made"
else
	validate "$tmp/dup.yml"
	if [ "$VRC" -eq 1 ] && grep -q "^error .*duplicate module key 'connect-fcgi-events'" "$tmp/v.out"; then
		ok "@forge/manifest refuses a module key used twice"
	else
		not_ok "@forge/manifest refuses a module key used twice"
		diag "rc $VRC" "$(cat "$tmp/v.out")"
	fi
fi
grep -v 'write:pullrequest:bitbucket\|read:pullrequest:bitbucket' "$tmp/bitbucket.yml" >"$tmp/noscope.yml"
validate "$tmp/noscope.yml"
if [ "$VRC" -eq 1 ] && grep -q "^error .*mergeCheck.*read:pullrequest:bitbucket" "$tmp/v.out"; then
	ok "@forge/manifest refuses a merge check without the pull request scope"
else
	not_ok "@forge/manifest refuses a merge check without the pull request scope"
	diag "rc $VRC" "$(cat "$tmp/v.out")"
fi

# ---------------------------------------------------------------- values that cannot go in
# a template of one's own that uses the app name too (the shipped ones do not)
sed 's/^      name: Pull request title$/      name: {{appName}}/' "$tmp/share/forge/bitbucket.yml" >"$tmp/named.yml"
refused "AC_FORGE_APP_ID empty" AC_FORGE_APP_ID env AC_FORGE_APP_ID= "$acctl" forge manifest
refused "AC_FORGE_APP_ID unset" AC_FORGE_APP_ID env -u AC_FORGE_APP_ID "$acctl" forge manifest --product jira
refused "AC_BASE_URL http" AC_BASE_URL env AC_BASE_URL=http://127.0.0.1:8080 "$acctl" forge manifest
refused "AC_BASE_URL unset" AC_BASE_URL env -u AC_BASE_URL "$acctl" forge manifest
refused "AC_BASE_URL with a line break" AC_BASE_URL \
    env AC_BASE_URL="https://app.example.com/a
  evil: 1" "$acctl" forge manifest
refused "AC_APP_KEY with a line break" AC_APP_KEY \
    env AC_APP_KEY="it-forge-app
connectModules: {}" "$acctl" forge manifest --product jira
refused "AC_APP_NAME with a line break" AC_APP_NAME \
    env AC_APP_NAME="name
x" "$acctl" forge manifest --template "$tmp/named.yml"
# a refusal leaves the file of --out as it was
printf 'old\n' >"$tmp/keep.yml"
raw env AC_FORGE_APP_ID= "$acctl" forge manifest --out "$tmp/keep.yml"
if [ "$RC" -eq 2 ] && [ "$(cat "$tmp/keep.yml")" = old ]; then
	ok "a refusal leaves the file of --out untouched"
else
	not_ok "a refusal leaves the file of --out untouched"; diag "rc $RC" "$(cat "$tmp/keep.yml")"
fi
refused "--product other" "--product" "$acctl" forge manifest --product confluence

# ---------------------------------------------------------------- YAML-safe values
# the app name in a template of one's own: quotes, a backslash, ': ' and ' #' stay one string
NAME='Title "check": a\b #1'\'' {x}'
raw env AC_APP_NAME="$NAME" "$acctl" forge manifest --template "$tmp/named.yml" --out "$tmp/named-out.yml"
validate "$tmp/named-out.yml"
got=$(sed -n 's/^manifest //p' "$tmp/v.out" | "$node" -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).modules["bitbucket:mergeCheck"][0].name))' 2>&1)
if [ "$RC" -eq 0 ] && [ "$VRC" -eq 0 ] && [ "$got" = "$NAME" ]; then
	ok "a value with quotes, a backslash, ': ' and ' #' is one YAML string, unchanged"
else
	not_ok "a value with quotes, a backslash, ': ' and ' #' is one YAML string, unchanged"
	diag "rc $RC/$VRC" "want: $NAME" "got:  $got" "$(cat "$tmp/err" "$tmp/v.out")"
fi
printf 'app:\n  id: "{{appId}}"\n' >"$tmp/quoted.yml"
refused "a placeholder inside quotes in a template" "inside quotes" "$acctl" forge manifest --template "$tmp/quoted.yml"
printf 'app:\n  id: {{appID}}\n' >"$tmp/unknown.yml"
refused "an unknown placeholder" "{{appID}}" "$acctl" forge manifest --template "$tmp/unknown.yml"

echo "1..$n"
[ "$failed" -eq 0 ]
