#!/bin/bash
# forge-link.sh: the link between a Connect tenant and a Forge installation (issue 15 item 7,
# doc/protocol.md §11) through the real nginx pool: a Bitbucket Connect tenant installed by the
# product simulator, the Forge installed event of the same workspace (FITs signed with npm jose,
# tests/sim/forge-jwks.js); a Connect on Forge tenant by its installationId; acctl tenant show and
# acctl forge installations show the link, never a secret (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"

it_setup
forge_need forge-events installed

UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
APP=ari:cloud:ecosystem::app/$UUID
newinst() { echo "ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)"; }
upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }

it_stage_programs "$IT_TMP/libexec"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }
forge_start "the Forge JWKS server" "$top_srcdir/tests/sim/forge-jwks.js" "$IT_TMP/forge" "$APP"

PORT=
it_port
mkdir -m 0700 "$IT_TMP/data"
[ -z "$IT_UG" ] || chown "$IT_UG" "$IT_TMP/data"
it_app_env bitbucket inline
export AC_SYNC=full AC_FORGE_APP_ID="$UUID" AC_FORGE_JWKS_URL="$FORGE/.well-known/jwks.json"
forge_nginx

# forge_installed INST WORKSPACE: the Forge installed event of INST, its FIT naming WORKSPACE
forge_installed() {
	local fit ws="${2//\{/%7B}"
	fit="$(curl -s --max-time 10 "$FORGE/_ctl/fit?case=good&inst=$1&ws=${ws//\}/%7D}")"
	http POST /forge/events -H 'Content-Type: application/json' -H "Authorization: Bearer $fit" \
	    --data-binary "{\"eventType\":\"avi:forge:installed:app\",\"id\":\"$1\",\"context\":\"ari:cloud:bitbucket::site/1\"}"
}
# linked INST: the clientKey acctl forge installations shows for INST ("" when none)
linked() {
	"$ACCTL" forge installations >"$IT_TMP/inst.json" 2>"$IT_TMP/inst.err"
	grep -F -- "\"$1\"" "$IT_TMP/inst.json" >"$IT_TMP/inst1.json" || { echo "absent"; return; }
	json "$IT_TMP/inst1.json" 'j.clientKey || ""'
}
sim_secret() { json "$IT_TMP/sim/tenants.json" "(j['$1'] || {}).sharedSecret || ''"; }

# ================================================================ Bitbucket: by workspace
WS=$(cat /proc/sys/kernel/random/uuid)
CK="ari:cloud:bitbucket::app/{$WS}/it-app"
INST=$(newinst)
it_drive "the simulator installs the Bitbucket Connect tenant of a workspace" 204 install --product bitbucket \
    --client-key "$CK"
forge_installed "$INST" "{$(upper "$WS")}"
is "$STATUS" "204" "the Forge installed event of the same workspace (upper case, braces): 204"
is "$(linked "$INST")" "$CK" "acctl forge installations: the installation linked to the Connect tenant"
"$ACCTL" tenant show "$CK" >"$IT_TMP/show.txt" 2>&1
check "acctl tenant show: the linked Forge installation" grep -qE "^forge: +$INST PRODUCTION version 2.1.0\$" "$IT_TMP/show.txt"
"$ACCTL" tenant show "$CK" --json >"$IT_TMP/show.json" 2>/dev/null
is "$(json "$IT_TMP/show.json" 'j.forgeInstallations.map(x => x.installationId).join(" ")')" "$INST" \
    "acctl tenant show --json: forgeInstallations"
SECRET="$(sim_secret "$CK")"
check "the Connect tenant's secret is known to the simulator" test -n "$SECRET"
check "neither command prints the shared secret" sh -c "! grep -qF -- '$SECRET' '$IT_TMP/show.txt' '$IT_TMP/show.json' '$IT_TMP/inst.json'"

INST_OTHER=$(newinst)
forge_installed "$INST_OTHER" "{$(cat /proc/sys/kernel/random/uuid)}"
is "$STATUS $(linked "$INST_OTHER")" "204 " "the installation of another workspace: not linked"
"$ACCTL" tenant show "$CK" --json >"$IT_TMP/show.json" 2>/dev/null
is "$(json "$IT_TMP/show.json" 'j.forgeInstallations.length')" "1" "acctl tenant show: only the installation of its workspace"

# the Forge event first, the Connect tenant after: the link is found when asked
WS2=$(cat /proc/sys/kernel/random/uuid)
INST2=$(newinst)
forge_installed "$INST2" "$WS2"
is "$STATUS $(linked "$INST2")" "204 " "a Forge installation of a workspace with no Connect tenant yet: not linked"
it_drive "the Connect tenant of that workspace installs afterwards" 204 install --product bitbucket \
    --client-key "ari:cloud:bitbucket::app/{$WS2}/it-app"
is "$(linked "$INST2")" "ari:cloud:bitbucket::app/{$WS2}/it-app" "acctl forge installations: linked now (braces aside)"

# ================================================================ Connect on Forge: by installationId
INST3=$(newinst)
it_drive "an /installed body with installationId (Connect on Forge)" 204 install --product bitbucket \
    --client-key cof-1 --body-override "{\"installationId\":\"$INST3\"}"
"$ACCTL" tenant show cof-1 --json >"$IT_TMP/cof.json" 2>/dev/null
is "$(json "$IT_TMP/cof.json" 'j.installationId')" "$INST3" "acctl tenant show: the installationId kept"
forge_installed "$INST3" "{$(cat /proc/sys/kernel/random/uuid)}"
is "$STATUS $(linked "$INST3")" "204 cof-1" "the Forge installation of that id: linked to cof-1"
"$ACCTL" tenant show cof-1 >"$IT_TMP/cof.txt" 2>&1
check "acctl tenant show: installationId and the Forge installation" sh -c \
    "grep -qE '^installationId: +$INST3\$' '$IT_TMP/cof.txt' && grep -qE '^forge: +$INST3 ' '$IT_TMP/cof.txt'"
before="$("$ACCTL" tenant export 2>/dev/null | md5sum)"
it_drive "an installationId not of the form ari:cloud:ecosystem::installation/<uuid>" 400 install \
    --product bitbucket --client-key cof-2 --body-override '{"installationId":"installation-7"}'
check "with the stable code bad_field" grep -q '"bad_field"' "$IT_TMP/sim.last"
is "$("$ACCTL" tenant export 2>/dev/null | md5sum)" "$before" "the store is exactly as it was"

it_stop_all || not_ok "every process stopped by PID"
done_testing
