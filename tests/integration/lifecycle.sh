#!/bin/bash
# lifecycle.sh: /installed and /uninstalled through the real nginx (worker pool) and programs,
# driven by the product simulator; the store is checked with acctl after every step (TAP).
. "$top_srcdir/tests/integration/lib.sh"

ACCTL="$top_builddir/src/cli/acctl"
SIM="$top_srcdir/tests/sim/sim.js"

it_setup
[ -x "$NODE" ] || skip_all "node not found"
[ -d "$top_srcdir/tests/sim/node_modules/atlassian-jwt" ] || skip_all "atlassian-jwt not installed in tests/sim"
[ -x "$top_builddir/src/fcgi/installed.fcgi" ] || skip_all "installed.fcgi not built"

it_stage_programs "$IT_TMP/libexec"
mkdir -p "$IT_TMP/sim"

# ---- the simulator
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }

# start_stack PRODUCT: nginx + programs for one product, on a fresh port
start_stack() {
	it_stop_app
	rm -f "$IT_TMP"/run/*.sock
	PORT=
	it_port
	export AC_BASE_URL="$BASE" AC_APP_KEY=it-app AC_PRODUCT="$1" AC_DATA_DIR="$IT_TMP/data"
	export AC_TEMPLATE_DIR="$IT_TMP/descriptor" AC_ALLOWED_HOSTS="127.0.0.1,bitbucket.org,api.bitbucket.org"
	export AC_INSTALL_KEYS_URL="$SIM_URL/install-keys" AC_SYNC=full
	unset AC_CONFIG AC_DESCRIPTOR
	write_acconf "$IT_TMP/connect-fcgi.conf" "$top_srcdir/src/lib/base/conf.c"
	it_nginx pool || { not_ok "$1: nginx and the programs start"; it_logs; done_testing; }
}

# The app's processes (not the simulator, which stays for the whole run).
# state of a tenant as "state secret" (acctl reads the store like the programs)
tenant() {
	"$ACCTL" tenant show "$1" --json --show-secret >"$IT_TMP/tenant.json" 2>/dev/null || { echo absent; return; }
	json "$IT_TMP/tenant.json" 'j.state + " " + j.sharedSecret'
}
sim_secret() { json "$IT_TMP/sim/tenants.json" "(j['$1'] || {}).sharedSecret || ''"; }
snapshot() { "$ACCTL" tenant export 2>/dev/null | md5sum; }
sim_control() { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$SIM_URL/_sim/control"; }
# sim_stats EXPR: EXPR of the simulator's /_sim/stats (j)
sim_stats() { curl -s "$SIM_URL/_sim/stats" >"$IT_TMP/stats.json" && json "$IT_TMP/stats.json" "$1"; }
# unchanged BEFORE DESCRIPTION
unchanged() { is "$(snapshot)" "$1" "$2: the store is exactly as it was"; }

# ================================================================ Bitbucket
start_stack bitbucket

it_drive "bitbucket: first install, unsigned, trust on first use" 204 install --product bitbucket --client-key bb-1
is "$(tenant bb-1)" "installed $(sim_secret bb-1)" "bitbucket: acctl shows bb-1 installed with the secret sent"

before="$(snapshot)"
it_drive "bitbucket: install with a host not in AC_ALLOWED_HOSTS" 403 install --product bitbucket \
	--client-key bb-evil --base-url https://evil.example.com --base-api-url https://api.evil.example.com
is "$(tenant bb-evil)" "absent" "bitbucket: the refused tenant is not stored"
it_drive "bitbucket: baseUrl bitbucket.org.evil.com is not bitbucket.org" 403 install --product bitbucket \
	--client-key bb-evil --base-url https://bitbucket.org.evil.com --base-api-url https://api.bitbucket.org
unchanged "$before" "bitbucket: hosts not allowed"

old="$(sim_secret bb-1)"
before="$(snapshot)"
it_drive "bitbucket: unsigned reinstall of a known clientKey" 401 install --client-key bb-1 --sign none
it_drive "bitbucket: reinstall signed with the new secret" 401 install --client-key bb-1 --sign new
unchanged "$before" "bitbucket: forged reinstalls"
is "$(tenant bb-1)" "installed $old" "bitbucket: bb-1 keeps its secret"

it_drive "bitbucket: another tenant installs" 204 install --product bitbucket --client-key bb-2
before="$(snapshot)"
it_drive "bitbucket: reinstall of bb-1 signed with bb-2's secret" 401 install --client-key bb-1 --sign other:bb-2
it_drive "bitbucket: reinstall with iss another tenant" 401 install --client-key bb-1 --iss bb-2
it_drive "bitbucket: reinstall with an expired token" 401 install --client-key bb-1 --exp-offset -600
it_drive "bitbucket: reinstall with the qsh of /uninstalled" 401 install --client-key bb-1 --qsh-for /uninstalled
it_drive "bitbucket: reinstall signed HS512" 401 install --client-key bb-1 --alg HS512
it_drive "bitbucket: reinstall with alg none" 401 install --client-key bb-1 --alg none
unchanged "$before" "bitbucket: forged and stale reinstalls"
is "$(tenant bb-1)" "installed $old" "bitbucket: bb-1 still has its first secret"

it_drive "bitbucket: reinstall signed with the stored secret rotates it" 204 install --client-key bb-1 --sign stored
new="$(sim_secret bb-1)"
check "bitbucket: the simulator sent a new secret" [ "$new" != "$old" ]
is "$(tenant bb-1)" "installed $new" "bitbucket: acctl shows the new secret"

# replays (issue 13, 6): a reinstall that keeps its secret leaves a token good with the stored secret
keep="$(sim_secret bb-1)"
it_drive "bitbucket: reinstall keeping the secret" 204 install --client-key bb-1 --sign stored --secret "$keep" \
	--save "$IT_TMP/bb-saved.json"
before="$(snapshot)"
it_drive "bitbucket: its token replayed with another secret in the body" 401 install --client-key bb-1 \
	--token-from "$IT_TMP/bb-saved.json" --secret attacker-secret
check "bitbucket: the replay is token_replayed" grep -q '"token_replayed"' "$IT_TMP/sim.last"
it_drive "bitbucket: the same request again (the product's retry) is answered" 204 install --client-key bb-1 \
	--token-from "$IT_TMP/bb-saved.json" --secret "$keep" --raw-body "$(json "$IT_TMP/bb-saved.json" j.body)"
unchanged "$before" "bitbucket: a replay and a retry"
is "$(tenant bb-1)" "installed $keep" "bitbucket: bb-1 keeps its secret"

it_drive "bitbucket: uninstall signed with the stored secret" 204 uninstall --client-key bb-1
is "$(tenant bb-1 | cut -d' ' -f1)" "uninstalled" "bitbucket: bb-1 is marked uninstalled, record kept"
check "bitbucket: the uninstall time is recorded" \
	eval '[ "$(json "$IT_TMP/tenant.json" "j.uninstalledAt > 0")" = true ]'
it_drive "bitbucket: reinstall after uninstall, signed with the kept secret" 204 install --client-key bb-1 --sign stored
is "$(tenant bb-1)" "installed $(sim_secret bb-1)" "bitbucket: bb-1 is back"
it_drive "bitbucket: uninstall of an unknown clientKey" 401 uninstall --client-key bb-nobody --sign secret:x

# bodies
before="$(snapshot)"
it_drive "bitbucket: malformed JSON" 400 install --client-key bb-1 --raw-body '{"key":'
it_drive "bitbucket: a JSON array" 400 install --client-key bb-1 --raw-body '[]'
it_drive "bitbucket: clientKey missing" 400 install --client-key bb-1 --body-override '{"clientKey":null}'
it_drive "bitbucket: sharedSecret a number" 400 install --client-key bb-1 --body-override '{"sharedSecret":5}'
it_drive "bitbucket: key of another app" 400 install --client-key bb-1 --body-override '{"key":"other-app"}'
it_drive "bitbucket: productType jira" 400 install --client-key bb-1 --body-override '{"productType":"jira"}'
it_drive "bitbucket: eventType uninstalled on /installed" 400 install --client-key bb-1 --body-override '{"eventType":"uninstalled"}'
it_drive "bitbucket: plain http baseUrl" 400 install --client-key bb-1 --base-url http://bitbucket.org
it_drive "bitbucket: wrong content type" 415 install --client-key bb-1 --content-type text/plain
unchanged "$before" "bitbucket: bad bodies"
# a name twice (json-c keeps the last, a checker may read the first): refused in the token and the body
# raw_token FILE SECRET HEADER CLAIMS: an HS256 token over these JSON texts as written, for --token-from
raw_token() {
	"$NODE" -e '
		const c = require("crypto"), b = (s) => Buffer.from(s).toString("base64url");
		const i = b(process.argv[3]) + "." + b(process.argv[4]);
		const t = i + "." + c.createHmac("sha256", process.argv[2]).update(i).digest("base64url");
		require("fs").writeFileSync(process.argv[1], JSON.stringify({ authorization: "JWT " + t }));
	' "$@"
}
s="$(sim_secret bb-1)"
now="$(date +%s)"
q="$(printf 'POST&/installed&' | sha256sum | cut -d' ' -f1)"
claims="\"iss\":\"bb-1\",\"iat\":$now,\"exp\":$((now + 600)),\"qsh\":\"$q\"}"
bbody() { printf '{"key":"it-app","clientKey":"bb-1","sharedSecret":"%s","baseUrl":"https://bitbucket.org","baseApiUrl":"https://api.bitbucket.org","productType":"bitbucket","eventType":"installed"%s}' "$s" "${1:-}"; }
raw_token "$IT_TMP/dup-alg.json" "$s" '{"alg":"none","alg":"HS256"}' "{$claims"
raw_token "$IT_TMP/dup-iss.json" "$s" '{"alg":"HS256"}' "{\"iss\":\"bb-2\",$claims"
raw_token "$IT_TMP/dup-exp.json" "$s" '{"alg":"HS256"}' "{\"exp\":1,$claims"
raw_token "$IT_TMP/one.json" "$s" '{"alg":"HS256","typ":"JWT"}' "{$claims"
for c in alg:dup-alg iss:dup-iss exp:dup-exp; do
	it_drive "bitbucket: a reinstall whose token has ${c%%:*} twice" 401 install --client-key bb-1 --secret "$s" \
		--token-from "$IT_TMP/${c#*:}.json" --raw-body "$(bbody)"
	check "... is token_malformed" grep -q '"token_malformed"' "$IT_TMP/sim.last"
done
it_drive "bitbucket: a reinstall with sharedSecret twice in its body" 400 install --client-key bb-1 --secret "$s" \
	--token-from "$IT_TMP/one.json" --raw-body "$(bbody ',"sharedSecret":"attacker-secret"')"
check "... is malformed_json" grep -q '"malformed_json"' "$IT_TMP/sim.last"
it_drive "bitbucket: a reinstall with clientKey twice, one escaped" 400 install --client-key bb-1 --secret "$s" \
	--token-from "$IT_TMP/one.json" --raw-body "$(bbody ',"cl\u0069entKey":"bb-2"')"
unchanged "$before" "bitbucket: names written twice"
it_drive "bitbucket: the same token and body with every name once is accepted" 204 install --client-key bb-1 \
	--secret "$s" --token-from "$IT_TMP/one.json" --raw-body "$(bbody)"
is "$(tenant bb-1)" "installed $s" "bitbucket: bb-1 keeps its secret"
before="$(snapshot)"
http POST /installed -H 'Content-Type: application/json' --data-binary @<(bytes 70000)
is "$STATUS $(json "$BODY" 'j.error')" "413 body_too_large" "bitbucket: a 70 KB body is a JSON 413"
unchanged "$before" "bitbucket: oversize body"

# concurrency: 200 first installs from 8 parallel clients, across the worker processes
mkdir -p "$IT_TMP/bodies"
for i in $(seq 200); do
	printf '{"key":"it-app","clientKey":"par-%03d","sharedSecret":"s-%d","baseUrl":"%s","baseApiUrl":"%s/api","productType":"bitbucket","eventType":"installed"}' \
		"$i" "$i" "$SIM_URL" "$SIM_URL" >"$IT_TMP/bodies/$i.json"
done
seq 200 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
	-H 'Content-Type: application/json' --data-binary @"$IT_TMP/bodies/{}.json" "$BASE/installed" \
	>"$IT_TMP/par.codes"
is "$(sort "$IT_TMP/par.codes" | uniq -c | tr -s ' ')" " 200 204" "bitbucket: 200 parallel installs all answered 204"
is "$("$ACCTL" tenant list | grep -c '^par-')" "200" "bitbucket: all 200 are stored"

# a reinstall and an uninstall of one tenant at once end in a valid state
it_drive "bitbucket: race tenant installs" 204 install --product bitbucket --client-key race-1
old="$(sim_secret race-1)"
cp -r "$IT_TMP/sim" "$IT_TMP/sim2"
"$NODE" "$SIM" install --app "$BASE" --state "$IT_TMP/sim" --client-key race-1 --sign stored --secret race-new \
	--expect 2xx,4xx >"$IT_TMP/race.a" 2>&1 &
ra=$!
"$NODE" "$SIM" uninstall --app "$BASE" --state "$IT_TMP/sim2" --client-key race-1 --expect 2xx,4xx \
	>"$IT_TMP/race.b" 2>&1 &
rb=$!
wait "$ra" "$rb"
st="$(tenant race-1)"
case "$st" in
"installed race-new" | "uninstalled $old" | "uninstalled race-new") ok "bitbucket: reinstall racing uninstall ends in a valid state ($st)" ;;
*) not_ok "bitbucket: reinstall racing uninstall ends in a valid state"; diag "got '$st'" ;;
esac

# ================================================================ Jira
start_stack jira

it_drive "jira: signed install (RS256, key from the key server)" 204 install --product jira --client-key jira-1
is "$(tenant jira-1)" "installed $(sim_secret jira-1)" "jira: acctl shows jira-1 installed"
kid="$(json "$IT_TMP/sim/meta.json" 'j.defaultKid')"
before="$(snapshot)"
it_drive "jira: unsigned install" 401 install --product jira --client-key jira-2 --sign none
it_drive "jira: HS256 signed with the public key PEM" 401 install --product jira --client-key jira-2 --alg HS256
it_drive "jira: aud another app" 401 install --product jira --client-key jira-2 --aud https://other.example.com
it_drive "jira: iss another clientKey" 401 install --product jira --client-key jira-2 --iss jira-1
it_drive "jira: expired" 401 install --product jira --client-key jira-2 --exp-offset -600 --iat-offset -900
it_drive "jira: qsh for /uninstalled" 401 install --product jira --client-key jira-2 --qsh-for /uninstalled
it_drive "jira: signed by another key under the same kid" 401 install --product jira --client-key jira-2 \
	--key-from 00000000-0000-4000-8000-0000000000ff
it_drive "jira: a kid that is not a UUID" 401 install --product jira --client-key jira-2 --kid ../../etc/passwd
unchanged "$before" "jira: forged installs"

# no work for unauthenticated requests (issue 13, 7): claims that cannot pass cost no key fetch
it_drive "jira: expired, fresh kid" 401 install --product jira --client-key jira-2 --exp-offset -600 --iat-offset -900 \
	--kid 22222222-0000-4000-8000-000000000001
it_drive "jira: aud another app, fresh kid" 401 install --product jira --client-key jira-2 --aud https://other.example.com \
	--kid 22222222-0000-4000-8000-000000000002
it_drive "jira: iss another clientKey, fresh kid" 401 install --product jira --client-key jira-2 --iss jira-1 \
	--kid 22222222-0000-4000-8000-000000000003
it_drive "jira: qsh for /uninstalled, fresh kid" 401 install --product jira --client-key jira-2 --qsh-for /uninstalled \
	--kid 22222222-0000-4000-8000-000000000004
it_drive "jira: uninstall of a clientKey never installed, fresh kid" 401 uninstall --product jira --client-key jira-none \
	--kid 22222222-0000-4000-8000-000000000005
check "... is unknown_tenant" grep -q '"unknown_tenant"' "$IT_TMP/sim.last"
is "$(sim_stats 'Object.keys(j.keyFetches).filter((k) => k.startsWith("22222222-")).length')" "0" \
	"jira: tokens whose claims cannot pass made no key fetch"

# failures are remembered: a kid per case (11111111-...-55555555555N)
sim_control '{"installKeys":"down"}'
it_drive "jira: key server down" 503 install --product jira --client-key jira-3 --kid 11111111-2222-4333-8444-555555555551
# (that a failure is not asked again for 10 s is test-lifecycle's, on a fixed clock: no timing here)
sim_control '{"installKeys":"close"}'
it_drive "jira: key server closes the connection" 503 install --product jira --client-key jira-3 --kid 11111111-2222-4333-8444-555555555552
sim_control '{"installKeys":"404"}'
it_drive "jira: key server does not know the kid" 401 install --product jira --client-key jira-3 --kid 11111111-2222-4333-8444-555555555553
sim_control '{"installKeys":"ok"}'
unchanged "$before" "jira: key server failures"
it_drive "jira: a kid the key server did not know, again" 401 install --product jira --client-key jira-3 \
	--kid 11111111-2222-4333-8444-555555555553
check "jira: it is unknown_key, as when fetched" grep -q '"unknown_key"' "$IT_TMP/sim.last"
is "$(sim_stats 'j.keyFetches["11111111-2222-4333-8444-555555555553"]')" "1" \
	"jira: an unknown kid is remembered, not fetched again within the minute"
it_drive "jira: the key server is back: the install goes through" 204 install --product jira --client-key jira-3 \
	--kid 11111111-2222-4333-8444-555555555554

# replays (issue 13, 6): a signed install is good for one call
it_drive "jira: signed install (saved)" 204 install --product jira --client-key jira-r --save "$IT_TMP/jira-saved.json"
keep="$(sim_secret jira-r)"
before="$(snapshot)"
it_drive "jira: the signed install replayed with another secret" 401 install --product jira --client-key jira-r \
	--token-from "$IT_TMP/jira-saved.json" --secret attacker-secret
check "jira: the replay is token_replayed" grep -q '"token_replayed"' "$IT_TMP/sim.last"
it_drive "jira: the same request again (the product's retry) is answered" 204 install --product jira \
	--client-key jira-r --token-from "$IT_TMP/jira-saved.json" --secret "$keep" \
	--raw-body "$(json "$IT_TMP/jira-saved.json" j.body)"
unchanged "$before" "jira: a replay and a retry"
is "$(tenant jira-r)" "installed $keep" "jira: jira-r keeps its secret"
is "$("$ACCTL" tenant seen jira-r | awk 'NR > 1 { print $4, $5 }')" "installed jira-r" \
	"jira: acctl tenant seen lists the one token accepted for jira-r"

for i in 1 2 3 4 5; do
	it_sim install --product jira --client-key "jira-many-$i" --expect 204 || not_ok "jira: install jira-many-$i"
done
is "$(curl -s "$SIM_URL/_sim/stats" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).keyFetches[process.argv[1]]))' "$kid")" "1" \
	"jira: the key of one kid is fetched once for many installs"

it_drive "jira: uninstall (RS256)" 204 uninstall --product jira --client-key jira-1
is "$(tenant jira-1 | cut -d' ' -f1)" "uninstalled" "jira: jira-1 is marked uninstalled"
it_drive "jira: Bitbucket-style body refused on a Jira deployment" 400 install --product bitbucket --client-key jira-bb

[ "$T_FAILED" -eq 0 ] || it_logs
if it_stop_all; then ok "every process stopped by PID"; else not_ok "every process stopped by PID"; fi
done_testing
