#!/usr/bin/env node
// qsh-oracle.js: atlassian-jwt's canonical request and qsh for JSON lines on stdin.
//
// Input, one object a line: {"method", "url", "baseUrl"} (other fields are ignored).
// Output, one object a line: {"canonical", "qsh"} or {"error": message}.
// This is the npm reference implementation (doc/protocol.md §3), used as an
// independent oracle by tests/integration/qsh-diff.sh: the request goes
// through fromMethodAndUrl() (Node's url.parse) exactly as an npm app would.
'use strict';

const readline = require('readline');
const jwt = require('atlassian-jwt');

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];

rl.on('line', (line) => {
	if (line.length === 0)
		return;
	let answer;
	try {
		const r = JSON.parse(line);
		const req = jwt.fromMethodAndUrl(r.method, r.url);
		const base = typeof r.baseUrl === 'string' ? r.baseUrl : '';
		answer = {
			canonical: jwt.createCanonicalRequest(req, false, base),
			qsh: jwt.createQueryStringHash(req, false, base),
		};
	} catch (e) {
		answer = { error: String(e && e.message ? e.message : e) };
	}
	out.push(JSON.stringify(answer));
	if (out.length >= 512)
		process.stdout.write(out.splice(0).join('\n') + '\n');
});
rl.on('close', () => {
	if (out.length > 0)
		process.stdout.write(out.join('\n') + '\n');
});
