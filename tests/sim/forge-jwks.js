#!/usr/bin/env node
// forge-jwks.js: Forge's side of POST /forge/events for tests/integration/forge-events.sh: a JWKS
// on loopback (keys made with `jose`, rotated on demand, counted, switched off on demand) and
// Forge Invocation Tokens signed with it at the current time.
//
// usage: node forge-jwks.js STATEDIR APP_ARI
// Listens on 127.0.0.1 (port 0) and writes STATEDIR/forge.json {"url": ...} once it does.
//   GET  /.well-known/jwks.json      the set (503 while down); every request is counted
//   GET  /_ctl/count                 how many JWKS requests so far
//   POST /_ctl/down, /_ctl/up        the JWKS answers 503 / the set again
//   POST /_ctl/rotate                a new key (new kid) joins the set and signs from now on
//   GET  /_ctl/fit?case=C&inst=I     a FIT: good, other-key (a known kid, another key),
//                                    random-kid (a fresh unknown kid), expired, other-aud;
//                                    &api=URL: its apiBaseUrl (default https://api.bitbucket.org);
//                                    &ws=W (good): its context's workspaceId (default {ws-1})
//   GET  /_ctl/system?exp=N          an app system token (a JWS) whose exp is N
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

async function main() {
	const [statedir, app] = process.argv.slice(2);
	if (!statedir || !app) {
		process.stderr.write('usage: node forge-jwks.js STATEDIR APP_ARI\n');
		process.exit(2);
	}
	const jose = await import('jose');
	const newKey = async () => {
		const k = await jose.generateKeyPair('RS256', { extractable: true });
		k.kid = 'forge/invocation-token/wf-' + crypto.randomUUID();
		k.jwk = Object.assign(await jose.exportJWK(k.publicKey), { kid: k.kid, use: 'sig', alg: 'RS256' });
		return k;
	};
	const keys = [await newKey()];
	const other = await newKey();
	let count = 0, down = false;

	const claims = (inst, over, api) => {
		const now = Math.floor(Date.now() / 1000);
		api = api || 'https://api.bitbucket.org';
		const c = {
			iss: 'forge/invocation-token', aud: app, iat: now, nbf: now, exp: now + 25,
			jti: crypto.randomUUID(),
			app: {
				id: app, installationId: inst, apiBaseUrl: api, appVersion: '2.1.0',
				environment: { type: 'PRODUCTION', id: 'env-1' },
				module: { type: 'core:endpoint', key: 'events' },
				installation: { contexts: [{ name: 'bitbucket', apiBaseUrl: api,
				    workspaceId: '{ws-1}' }] },
			},
		};
		if (over)
			over(c);
		return c;
	};
	const sign = (c, key, kid) => new jose.SignJWT(c).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
	    .sign(key);

	const server = http.createServer(async (req, res) => {
		const u = new URL(req.url, 'http://x');
		const send = (status, body, type) => {
			res.writeHead(status, { 'Content-Type': type || 'application/json' });
			res.end(body);
		};
		try {
			if (u.pathname === '/.well-known/jwks.json') {
				count++;
				return down ? send(503, '{"error":"down"}') : send(200, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
			}
			if (u.pathname === '/_ctl/count')
				return send(200, String(count), 'text/plain');
			if (u.pathname === '/_ctl/down' || u.pathname === '/_ctl/up') {
				down = u.pathname === '/_ctl/down';
				return send(200, 'ok', 'text/plain');
			}
			if (u.pathname === '/_ctl/rotate') {
				keys.push(await newKey());
				return send(200, keys[keys.length - 1].kid, 'text/plain');
			}
			if (u.pathname === '/_ctl/system') {
				const exp = Number(u.searchParams.get('exp'));
				return send(200, await sign({ sub: 'app-system', exp }, other.privateKey, 'sys'), 'text/plain');
			}
			if (u.pathname === '/_ctl/fit') {
				const inst = u.searchParams.get('inst'), cur = keys[keys.length - 1];
				const c = u.searchParams.get('case');
				let t;
				const ws = u.searchParams.get('ws');
				if (c === 'good') // ws: the installation of another workspace (the link to Connect)
					t = await sign(claims(inst, ws ? (x) => { x.app.installation.contexts[0].workspaceId = ws; } : null,
					    u.searchParams.get('api')), cur.privateKey, cur.kid);
				else if (c === 'other-key')
					t = await sign(claims(inst), other.privateKey, cur.kid);
				else if (c === 'random-kid')
					t = await sign(claims(inst), cur.privateKey, 'forge/invocation-token/wf-' + crypto.randomUUID());
				else if (c === 'expired')
					t = await sign(claims(inst, (x) => { x.iat = x.nbf = x.iat - 120; x.exp = x.iat + 25; }),
					    cur.privateKey, cur.kid);
				else if (c === 'other-aud')
					t = await sign(claims(inst, (x) => { x.aud = x.app.id = 'ari:cloud:ecosystem::app/' +
					    crypto.randomUUID(); }), cur.privateKey, cur.kid);
				else
					return send(400, 'no such case', 'text/plain');
				return send(200, t, 'text/plain');
			}
			send(404, '{"error":"not_found"}');
		} catch (e) {
			send(500, String(e && e.stack || e), 'text/plain');
		}
	});
	server.listen(0, '127.0.0.1', () => {
		const url = 'http://127.0.0.1:' + server.address().port;
		fs.writeFileSync(path.join(statedir, 'forge.json.tmp'), JSON.stringify({ url }));
		fs.renameSync(path.join(statedir, 'forge.json.tmp'), path.join(statedir, 'forge.json'));
	});
}

main().catch((e) => {
	process.stderr.write('forge-jwks.js: ' + (e && e.stack || e) + '\n');
	process.exit(1);
});
