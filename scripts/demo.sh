# shellcheck shell=bash
# scripts/demo.sh: sourced by `scripts/run --demo` once the stack and the simulator run (NODE,
# SIM_URL, SIMSTATE, ACCTL, AC_* set): plays Bitbucket towards the app and shows what it did.

demo_sim() { "$NODE" "$ROOT/tests/sim/sim.js" "$@" --app "$AC_BASE_URL" --state "$SIMSTATE"; }
# demo_payload FIXTURE OUT JS: a fixture from tests/sim/payloads, changed by JS (p = payload).
demo_payload() {
	"$NODE" -e 'const p = require(process.argv[1]); (0, eval)("(p) => {" + process.argv[3] + "}")(p);
		require("fs").writeFileSync(process.argv[2], JSON.stringify(p));' \
	    "$ROOT/tests/sim/payloads/$1" "$2" "$3"
}
# demo_store: what the app wrote to the product, readable.
demo_store() {
	curl -s --max-time 10 "$SIM_URL/_sim/store" | "$NODE" -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			const j = JSON.parse(s);
			for (const c of j.comments)
				console.log("  comment on " + c.workspace + "/" + c.repo + " " + c.kind + " " + c.target +
				    ":\n    " + String(c.raw || "").trim().replace(/\n/g, "\n    "));
			for (const [k, v] of Object.entries(j.statuses))
				console.log("  status " + v.state + "  " + k.split("/").slice(2).join(" ") + "  " + (v.description || ""));
		});'
}
demo_counts() {
	curl -s --max-time 10 "$SIM_URL/_sim/store" | "$NODE" -e '
		let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
			const j = JSON.parse(s); console.log(j.comments.length + " " + Object.keys(j.statuses).length); });'
}

DEMO_CK=demo-tenant
DEMO_TMP="$SIMSTATE/payloads"
mkdir -p "$DEMO_TMP"
echo
echo "== demo: the simulator installs a Bitbucket tenant ($DEMO_CK)"
demo_sim install --product bitbucket --client-key "$DEMO_CK" --expect 204 | head -n 1
demo_payload bitbucket-webhook-pullrequest-created.json "$DEMO_TMP/pr.json" \
    'p.data.pullrequest.title = "Add & run linters"'
echo "== demo: a pull request titled \"Add & run linters\" (not Conventional Commits)"
demo_sim webhook --client-key "$DEMO_CK" --event pullrequest:created --payload "$DEMO_TMP/pr.json" --expect 204 | head -n 1
echo "== demo: a push"
demo_sim webhook --client-key "$DEMO_CK" --event repo:push --expect 204 | head -n 1
# the worker handles the events after the 204s: wait for its comment and statuses
for _ in $(seq 100); do
	set -- $(demo_counts)
	[ "${1:-0}" -ge 1 ] && [ "${2:-0}" -ge 2 ] && break
	sleep 0.2
done
echo "== demo: what the app did in Bitbucket (the simulator's store)"
demo_store
ACENV="AC_DATA_DIR=$AC_DATA_DIR"
cat <<EOD
== demo: look further (as the programs' user when run as root)
  $ACENV $ACCTL tenant list
  $ACENV $ACCTL tenant show $DEMO_CK
  $ACENV $ACCTL inbox list
  $ACENV $ACCTL inbox stats
  $ACCTL jwt decode "\$($ACCTL jwt sign --secret demo --iss $DEMO_CK GET $AC_BASE_URL/atlassian-connect.json | tail -n 1)"
  $ACENV AC_ALLOWED_HOSTS=$AC_ALLOWED_HOSTS AC_APP_KEY=$AC_APP_KEY $ACCTL api --tenant $DEMO_CK GET /2.0/user
  the simulator's record: curl -s $SIM_URL/_sim/requests; its store: curl -s $SIM_URL/_sim/store
== demo: done; still serving
EOD

# --demo --forge: the same backend as a Forge app's remote (FORGE_URL: tests/sim/forge-jwks.js)
if [ -n "${DEMO_FORGE:-}" ]; then
	FINST="ari:cloud:ecosystem::installation/$(cat /proc/sys/kernel/random/uuid)"
	# the installation's apiBaseUrl: the simulator, with a path of its own as Forge gives one
	FAPI="$SIM_URL/ex/bitbucket/demo-ws"
	FHASH=0123456789abcdef0123456789abcdef01234567
	demo_forge_fit() {
		curl -s --max-time 10 "$FORGE_URL/_ctl/fit?case=good&inst=$FINST&api=$(printf %s "$FAPI" | sed 's/:/%3A/g; s,/,%2F,g')"
	}
	# demo_forge_call METHOD PATH [BODY]: a Forge Remote call with a fresh FIT and the system token
	demo_forge_call() {
		curl -s --max-time 20 -X "$1" -w ' (HTTP %{http_code})\n' -H "Authorization: Bearer $(demo_forge_fit)" \
		    -H "x-forge-oauth-system: $FSYS" -H 'Content-Type: application/json' \
		    ${3:+--data-binary "$3"} "$AC_BASE_URL$2"
	}
	FSYS="$(curl -s --max-time 10 "$FORGE_URL/_ctl/system?exp=$(($(date +%s) + 7200))")"
	curl -s --max-time 10 -X POST -H 'Content-Type: application/json' "$SIM_URL/_sim/control" --data-binary \
	    "{\"forgeSystemTokens\":[\"$FSYS\"],\"pullrequests\":{\"42\":{\"title\":\"Tidy the Forge demo\",\"hash\":\"$FHASH\"}}}" >/dev/null
	demo_forge_comments() {
		curl -s --max-time 10 "$SIM_URL/_sim/store" | "$NODE" -e '
			let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
				console.log(JSON.parse(s).comments.filter((c) => c.target === "42").length); });'
	}
	echo
	echo "== demo --forge: Forge installs the app: avi:forge:installed:app to /forge/events, a FIT signed with jose, the app system token"
	demo_forge_call POST /forge/events "{\"eventType\":\"avi:forge:installed:app\",\"id\":\"$FINST\",\"context\":\"ari:cloud:bitbucket::site/demo\"}"
	echo "== demo --forge: avi:bitbucket:created:pullrequest, pull request 42 titled \"Tidy the Forge demo\""
	demo_forge_call POST /forge/events '{"eventType":"avi:bitbucket:created:pullrequest","timestamp":"2026-12-02T05:00:00Z","workspace":{"uuid":"{demo-ws}"},"repository":{"uuid":"{demo-repo}"},"pullrequest":{"id":42,"title":{"value":"Tidy the Forge demo","truncated":false}}}'
	# the worker fetches the pull request with the system token and comments on its title
	for _ in $(seq 100); do
		[ "$(demo_forge_comments)" -ge 1 ] 2>/dev/null && break
		sleep 0.2
	done
	if [ "$(demo_forge_comments)" -ge 1 ] 2>/dev/null; then
		echo "== demo --forge: the worker handled it through the installation's apiBaseUrl with the app system token:"
		demo_store | grep -A3 -E "comment on .* 42:" | grep -v -e '^--$' -e '^  status '
		demo_store | grep -F "$FHASH"
	else
		echo "== demo --forge: the event is accepted and queued; the worker did not comment within 20 s (acctl inbox list)"
	fi
	echo "== demo --forge: a Bitbucket merge check of pull request 42 (forge-remote.fcgi)"
	demo_forge_call POST /forge/merge-check '{"workspace":{"uuid":"{demo-ws}"},"repository":{"uuid":"{demo-repo}"},"pullrequest":{"id":42},"trigger":{"type":"on-merge"}}'
	echo "== demo --forge: GET /forge/remote/installation, as a UI resolver would ask it"
	demo_forge_call GET /forge/remote/installation
	echo "  $ACENV $ACCTL forge installations"
	echo "== demo --forge: done; still serving"
fi
