#!/bin/bash
# json-logs.sh: AC_LOG_FORMAT=json through the whole simulator scenario (lib.sh it_scenario) behind
# the nginx pool, the programs under their supervisors (AC_PROCESSES=2) and `acctl worker`: every
# line every program, supervisor and the worker wrote is one JSON object with the documented
# fields, and none holds the tenant's shared secret or a token; configuration failures are
# reported in JSON too (TAP).
. "$top_srcdir/tests/integration/lib.sh"

PY="$(command -v python3)"
it_setup
[ -x "$top_builddir/src/fcgi/webhook.fcgi" ] || skip_all "webhook.fcgi not built"
[ -n "$PY" ] || skip_all "python3 not found"
it_stage_programs "$IT_TMP/libexec"
it_sim_start || { not_ok "the simulator starts"; it_logs; done_testing; }
PORT=
it_port
export AC_LOG_FORMAT=json AC_PROCESSES=2
it_app_env bitbucket daemon
if ! it_nginx pool || [ "$BASE" != "$AC_BASE_URL" ]; then
	not_ok "nginx and the programs start on $AC_BASE_URL"
	it_logs
	done_testing
fi
it_worker
it_scenario "json logs"

# Hostile bytes in a path the programs log: quotes, a backslash, invalid UTF-8, a token-shaped query.
JWT_Q='eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl'
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /forge/remote/a"b\\c\xff\xfe HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
head -c 12 <&3 >"$IT_TMP/raw.status"
exec 3<&-
check "a path with quotes, a backslash and invalid UTF-8 reaches a program" grep -q "^HTTP/1.1 404" "$IT_TMP/raw.status" || diag "$(cat "$IT_TMP/raw.status")"
http GET "/forge/remote/x?jwt=$JWT_Q"

# A supervisor's line: one serving process of webhook.fcgi killed, another started in its place.
sup="${IT_SOCK_PID[$IT_TMP/run/webhook.0.sock]:-}"
victim="$(descendants "$sup" | head -n 1)"
if [ -n "$sup" ] && [ -n "$victim" ]; then
	kill -KILL "$victim"
	for _ in $(seq 100); do
		grep -q '"level":"warning".*started process' "$IT_TMP/logs/webhook.log" && break
		sleep 0.1
	done
	check "the supervisor of webhook.fcgi restarts a killed process and says so" \
	    grep -q '"level":"warning".*started process' "$IT_TMP/logs/webhook.log"
else
	not_ok "webhook.fcgi runs under its supervisor (pid ${sup:-none}, children ${victim:-none})"
fi
it_stop_all >/dev/null 2>&1 || true

# Configuration failures, reported before any setting is known to be good: AC_LOG_FORMAT from the
# environment, or from the file when the environment does not set it.
run_user_prefix
env AC_PRODUCT=nope "${RUN_PREFIX[@]}" "$top_builddir/src/fcgi/webhook.fcgi" </dev/null >/dev/null 2>"$IT_TMP/logs/conf-env.log"
printf 'AC_LOG_FORMAT=json\n' >"$IT_TMP/file.conf"
chmod 0644 "$IT_TMP/file.conf"
env -u AC_LOG_FORMAT AC_CONFIG="$IT_TMP/file.conf" AC_SYNC=sometimes "${RUN_PREFIX[@]}" \
    "$top_builddir/src/fcgi/descriptor.fcgi" </dev/null >/dev/null 2>"$IT_TMP/logs/conf-file.log"
(cd "$IT_TMP" && env AC_RETRY_FOR=forever "${RUN_PREFIX[@]}" "$top_builddir/src/cli/acctl" worker --once) \
    >/dev/null 2>"$IT_TMP/logs/conf-worker.log"
env AC_LOG_FORMAT=xml "${RUN_PREFIX[@]}" "$top_builddir/src/fcgi/webhook.fcgi" </dev/null >/dev/null 2>"$IT_TMP/conf-bad.txt"
check "AC_LOG_FORMAT=xml is refused, in text" grep -qx "webhook: error: configuration: AC_LOG_FORMAT must be 'text' or 'json' (got 'xml')" "$IT_TMP/conf-bad.txt"

secret="$(json "$IT_TMP/sim/tenants.json" 'Object.values(j).map(t => t.sharedSecret).filter(Boolean).join("\n")')"
printf '%s\n' "$secret" >"$IT_TMP/secrets"

# Every line of every log the programs and the worker wrote (not nginx's, not the simulator's).
out="$("$PY" - "$IT_TMP/logs" "$IT_TMP/secrets" "$JWT_Q" <<'EOF'
import glob, json, os, re, sys

logs, secrets_file, jwt_q = sys.argv[1:4]
secrets = [s for s in open(secrets_file).read().split("\n") if s]
FIELDS = {"time": str, "program": str, "level": str, "method": str, "path": str, "status": int,
          "microseconds": int, "tenant": str, "error": str, "message": str}
PROGRAMS = {"descriptor", "installed", "uninstalled", "webhook", "oauth-callback", "forge-events",
            "forge-remote", "worker", "acctl"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ")
bad, lines, seen = [], 0, {}

def pairs(p):
    keys = [k for k, _ in p]
    if len(keys) != len(set(keys)):
        raise ValueError("a member twice")
    return dict(p)

def no_constant(c):
    raise ValueError("not JSON: " + c)

for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
    name = os.path.basename(path)
    if name.startswith(("sim", "nginx", "stop")):
        continue
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        bad.append("%s: the last line is cut" % name)
    for n, raw in enumerate(data.split(b"\n")[:-1], 1):
        lines += 1
        where = "%s:%d" % (name, n)
        try:
            o = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=no_constant)
        except Exception as e:
            bad.append("%s: not one JSON object (%s): %r" % (where, e, raw[:200]))
            continue
        if not isinstance(o, dict):
            bad.append("%s: not an object" % where)
            continue
        for k, v in o.items():
            if k not in FIELDS:
                bad.append("%s: unknown field %s" % (where, k))
            elif type(v) is not FIELDS[k]:
                bad.append("%s: %s is a %s" % (where, k, type(v).__name__))
        if not TIME.match(o.get("time", "")):
            bad.append("%s: time %r" % (where, o.get("time")))
        if o.get("program") not in PROGRAMS:
            bad.append("%s: program %r" % (where, o.get("program")))
        if o.get("level") not in ("error", "warning", "info"):
            bad.append("%s: level %r" % (where, o.get("level")))
        if "method" in o:
            kind = "request"
            for k in ("path", "status", "microseconds"):
                if k not in o:
                    bad.append("%s: a request without %s" % (where, k))
            if not 100 <= o.get("status", 0) <= 599 or o.get("microseconds", -1) < 0:
                bad.append("%s: status or microseconds out of range" % where)
            if "?" in o.get("path", ""):
                bad.append("%s: a path with its query" % where)
        else:
            kind = "message"
            if not o.get("message"):
                bad.append("%s: a line with neither a request nor a message" % where)
        text = raw.decode("utf-8")
        values = " ".join(str(v) for v in o.values())
        for s in secrets:
            if s in text or s in values:
                bad.append("%s: holds a shared secret" % where)
        if TOKEN.search(text) or TOKEN.search(values) or jwt_q in values:
            bad.append("%s: holds a token" % where)
        key = (o.get("program"), kind, o.get("level"), o.get("method"), o.get("status"), o.get("error"))
        seen[key] = seen.get(key, 0) + 1
        if o.get("tenant"):
            seen[("tenant", o.get("program"))] = 1
        if "a\"b\\c\ufffd\ufffd" in o.get("path", ""):
            seen["hostile path"] = 1
        if o.get("message", "").startswith("configuration: "):
            seen[("configuration", name, o.get("program"), o.get("level"))] = 1

def has(*want):
    return any(all(w is None or k[i] == w for i, w in enumerate(want)) for k in seen if isinstance(k, tuple) and len(k) == 6)

for desc, ok in [
    ("the descriptor's request", has("descriptor", "request", "info", "GET", 200, None)),
    ("the install", has("installed", "request", "info", "POST", 204, None)),
    ("a webhook refused, with its error code", any(k[0] == "webhook" and k[1] == "request" and k[4] == 401 and k[5] for k in seen if isinstance(k, tuple) and len(k) == 6)),
    ("a webhook accepted", has("webhook", "request", "info", "POST", 204)),
    ("the uninstall", has("uninstalled", "request", "info", "POST", 204)),
    ("a request line with its tenant", ("tenant", "installed") in seen),
    ("the worker's messages", has("worker", "message", "info")),
    ("the supervisor's warning", has("webhook", "message", "warning")),
    ("the hostile path, escaped", "hostile path" in seen),
    ("a configuration failure from the environment's AC_LOG_FORMAT", ("configuration", "conf-env.log", "webhook", "error") in seen),
    ("a configuration failure from the file's AC_LOG_FORMAT", ("configuration", "conf-file.log", "descriptor", "error") in seen),
    ("the worker's configuration failure", ("configuration", "conf-worker.log", "worker", "error") in seen),
]:
    if not ok:
        bad.append("missing: " + desc)
print("lines %d" % lines)
for b in bad[:40]:
    print(b)
EOF
)"
n="$(printf '%s\n' "$out" | sed -n 's/^lines //p')"
diag "$(printf '%s\n' "$out" | head -n 1)"
check "the secrets of the scenario are known" [ -n "$secret" ]
check "the programs, supervisors and worker wrote lines ($n)" [ "${n:-0}" -ge 20 ]
rest="$(printf '%s\n' "$out" | sed 1d)"
is "$rest" "" "every line is one JSON object with the documented fields, none with a secret or a token, each kind present"
[ "$T_FAILED" -eq 0 ] || it_logs
done_testing
