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
