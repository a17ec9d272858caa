// lib/forge.js: the simulator's Forge mode (`sim.js forge`): Forge's side of a Forge Remote
// backend on loopback. It signs Forge Invocation Tokens with the npm package `jose` over a JWKS
// of its own, rotates that JWKS, plays the JWKS server's failures (down, slow, huge), sends events
// to the app as Forge does (lifecycle, product events, retries, scheduled triggers) and serves the
// Bitbucket and Jira REST endpoints that a Forge app calls with its system token, checking that
// Bearer token against the x-forge-oauth-system tokens it handed out. See tests/sim/README.md.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const ISS = 'forge/invocation-token';
const ARI_APP = 'ari:cloud:ecosystem::app/';
const ARI_INST = 'ari:cloud:ecosystem::installation/';

function appAri(id) {
	return id.startsWith(ARI_APP) ? id : ARI_APP + id;
}

// readBody(req, cap): the request body as a string (at most cap bytes; more is cut off).
function readBody(req, cap) {
	return new Promise((resolve) => {
		const parts = [];
		let n = 0;
		req.on('data', (d) => {
			if (n < cap)
				parts.push(d);
			n += d.length;
		});
		req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
		req.on('error', () => resolve(''));
	});
}

async function serve(args) {
	const jose = await import('jose');
	const statedir = path.resolve(args.state);
	const app = appAri(String(args.app || ''));
	if (app === ARI_APP)
		throw new Error('sim.js forge: --app APP_ID is required');
	fs.mkdirSync(statedir, { recursive: true });
	let url = '';

	const newKey = async () => {
		const k = await jose.generateKeyPair('RS256', { extractable: true });
		k.kid = 'forge/invocation-token/wf-' + crypto.randomUUID();
		k.jwk = Object.assign(await jose.exportJWK(k.publicKey), { kid: k.kid, use: 'sig', alg: 'RS256' });
		return k;
	};
	let keys = [await newKey()];
	let retired = []; // keys rotated out of the set: their tokens must now be refused
	const other = await newKey(); // never in the set
	// the JWKS server's behaviour: up, down (503), slow (answers after slowMs), huge (10 MB)
	let mode = 'up', slowMs = 8000, count = 0;
	const systemTokens = new Map(); // token -> {installationId, exp}
	const calls = []; // REST calls received: {method, path, auth}
	const prs = new Map(); // pull request id -> {title, delay}: what GET .../pullrequests/{id} answers
	const comments = new Map(); // pull request id -> the comments posted on it

	const inst0 = ARI_INST + crypto.randomUUID();
	const workspace = '{' + crypto.randomUUID() + '}';
	const repository = '{' + crypto.randomUUID() + '}';
	const cloudId = crypto.randomUUID();
	const commit = crypto.randomBytes(20).toString('hex'); // the source commit of every pull request

	// claims(q): the FIT for one invocation; q is the control query (inst, product, env)
	const claims = (q, over) => {
		const now = Math.floor(Date.now() / 1000);
		const jira = q.get('product') === 'jira';
		const base = url + (jira ? '/ex/jira/' + cloudId : '');
		const c = {
			iss: ISS, aud: app, iat: now, nbf: now, exp: now + Number(q.get('ttl') || 25),
			jti: crypto.randomUUID(),
			app: {
				id: app, installationId: q.get('inst') || inst0, apiBaseUrl: base, appVersion: '2.1.0',
				environment: { type: q.get('env') || 'PRODUCTION', id: 'env-1' },
				module: { type: 'core:endpoint', key: 'events' },
				installation: { contexts: [jira ? { name: 'jira', apiBaseUrl: base, cloudId }
				    : { name: 'bitbucket', apiBaseUrl: base, workspaceId: workspace }] },
			},
		};
		if (over)
			over(c);
		return c;
	};
	const cur = () => keys[keys.length - 1];
	const sign = (c, key, header) => new jose.SignJWT(c)
	    .setProtectedHeader(Object.assign({ alg: 'RS256', kid: cur().kid, typ: 'JWT' }, header || {})).sign(key);
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const otherApp = () => ARI_APP + crypto.randomUUID();

	// fit(case, q): a token of that case. Every case but good* is one Forge would never send.
	const fit = async (name, q) => {
		const k = cur();
		switch (name) {
		case 'good': return sign(claims(q), k.privateKey);
		case 'retired-key': {
			const r = retired[retired.length - 1];
			return r ? sign(claims(q), r.privateKey, { kid: r.kid }) : null;
		}
		case 'other-key': return sign(claims(q), other.privateKey);
		case 'random-kid': return sign(claims(q), k.privateKey, { kid: 'forge/invocation-token/wf-' + crypto.randomUUID() });
		case 'expired': return sign(claims(q, (c) => { c.iat = c.nbf = c.iat - 120; c.exp = c.iat + 25; }), k.privateKey);
		case 'not-yet-valid': return sign(claims(q, (c) => { c.nbf = c.iat + 120; c.exp = c.nbf + 25; }), k.privateKey);
		case 'other-aud': return sign(claims(q, (c) => { c.aud = c.app.id = otherApp(); }), k.privateKey);
		case 'other-iss': return sign(claims(q, (c) => { c.iss = 'forge/another-token'; }), k.privateKey);
		case 'app-id-not-aud': return sign(claims(q, (c) => { c.app.id = otherApp(); }), k.privateKey);
		case 'no-installation': return sign(claims(q, (c) => { delete c.app.installationId; }), k.privateKey);
		case 'alg-none': return new jose.UnsecuredJWT(claims(q)).encode();
		case 'hs256-pem': {
			const pem = crypto.createPublicKey({ key: k.jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
			return new jose.SignJWT(claims(q)).setProtectedHeader({ alg: 'HS256', kid: k.kid })
			    .sign(new TextEncoder().encode(pem));
		}
		case 'hs256-modulus':
			return new jose.SignJWT(claims(q)).setProtectedHeader({ alg: 'HS256', kid: k.kid })
			    .sign(Buffer.from(k.jwk.n, 'base64url'));
		case 'rs256-no-kid': {
			// signed by the right key, no kid in the header at all
			const h = b64({ alg: 'RS256', typ: 'JWT' }), p = b64(claims(q));
			const s = crypto.sign('sha256', Buffer.from(h + '.' + p),
			    crypto.createPrivateKey({ key: await jose.exportJWK(k.privateKey), format: 'jwk' }));
			return h + '.' + p + '.' + s.toString('base64url');
		}
		case 'connect-jwt': {
			// an Atlassian Connect JWT (HS256, iss = a clientKey, a qsh) sent where a FIT belongs
			const now = Math.floor(Date.now() / 1000);
			return new jose.SignJWT({ iss: q.get('iss') || 'connect-client', iat: now, exp: now + 180,
			    qsh: crypto.createHash('sha256').update('POST&/forge/events&').digest('hex') })
			    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
			    .sign(new TextEncoder().encode(q.get('secret') || 'shared-secret'));
		}
		default: return null;
		}
	};

	// system(q): an x-forge-oauth-system token (a JWS of its own: the backend reads its exp only)
	const system = async (q) => {
		const exp = Number(q.get('exp') || Math.floor(Date.now() / 1000) + 3600);
		const inst = q.get('inst') || inst0;
		const t = await new jose.SignJWT({ sub: 'app-system', exp, jti: crypto.randomUUID() })
		    .setProtectedHeader({ alg: 'RS256', kid: 'sys' }).sign(other.privateKey);
		systemTokens.set(t, { installationId: inst, exp });
		return t;
	};

	// event(type, q): the body Forge posts to /forge/events for that event
	const event = (type, q) => {
		const inst = q.get('inst') || inst0;
		const ts = q.get('ts') || '2026-12-02T05:00:00Z';
		const pr = { eventType: 'avi:bitbucket:created:pullrequest', timestamp: ts,
			workspace: { uuid: workspace }, repository: { uuid: repository },
			pullrequest: { id: Number(q.get('pr') || 7), title: { value: q.get('title') || 'Fix', truncated: false },
			    source: { commit: { hash: commit } } } };
		const retry = { retryCount: Number(q.get('count') || 1), retryReason: 'TIMEOUT' };
		switch (type) {
		case 'installed': return { eventType: 'avi:forge:installed:app', id: inst, context: 'ari:cloud:bitbucket::site/1' };
		case 'upgraded': return { eventType: 'avi:forge:upgraded:app', id: inst, context: 'ari:cloud:bitbucket::site/1' };
		case 'pr': return pr;
		case 'pr-updated': return Object.assign(pr, { eventType: 'avi:bitbucket:updated:pullrequest' });
		case 'pr-retry': return Object.assign(pr, { retryContext: retry });
		// the shape with the event under "payload", first sent, then retried with retryContext in it
		case 'pr-payload': return { payload: pr };
		case 'pr-payload-retry': return { payload: Object.assign(pr, { retryContext: retry }) };
		case 'jira-issue': return { eventType: 'avi:jira:created:issue', timestamp: ts,
			issue: { id: q.get('issue') || '10001', key: 'KEY-1' } };
		case 'scheduled': return { context: { cloudId, moduleKey: 'token-refresh' } };
		// the body of a Bitbucket merge check (POST /forge/merge-check)
		case 'merge-check': return { workspace: { uuid: workspace }, repository: { uuid: repository },
			pullrequest: { id: Number(q.get('pr') || 7) }, trigger: { type: q.get('trigger') || 'on-merge' } };
		default: return null;
		}
	};

	// rest(req, body): the Bitbucket and Jira REST routes a Forge app calls with Bearer <system token>
	const rest = async (req, u, body) => {
		const auth = req.headers.authorization || '';
		const t = auth.startsWith('Bearer ') ? auth.slice(7) : '';
		const known = systemTokens.get(t);
		const ok = known && known.exp > Date.now() / 1000;
		calls.push({ method: req.method, path: u.pathname, auth: ok ? 'system' : (t ? 'unknown' : 'none'),
		    installationId: known ? known.installationId : null, body: body.slice(0, 4096) });
		if (!ok)
			return [401, { type: 'error', error: { message: t ? 'not a live system token of this app' : 'no Bearer token' } }];
		let m;
		if ((m = u.pathname.match(/^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/pullrequests\/(\d+)$/)) && req.method === 'GET') {
			const pr = prs.get(Number(m[3])) || { title: 'Fix', delay: 0 };
			if (pr.delay)
				await new Promise((r) => setTimeout(r, pr.delay));
			return [200, { id: Number(m[3]), title: pr.title, state: 'OPEN',
			    source: { commit: { hash: commit } }, destination: { branch: { name: 'main' } } }];
		}
		if ((m = u.pathname.match(/^\/2\.0\/repositories\/[^/]+\/[^/]+\/pullrequests\/(\d+)\/comments$/))) {
			// the comments of a pull request: what the title rule reads back to comment once per title
			const list = comments.get(m[1]) || [];
			if (req.method === 'GET')
				return [200, { pagelen: 50, size: list.length, page: 1, values: list.slice().reverse() }];
			if (req.method === 'POST') {
				let raw = '';
				try { raw = JSON.parse(body).content.raw; } catch (e) { return [400, { error: 'no content.raw' }]; }
				const c = { id: 1000 + calls.length, content: { raw }, created_on: new Date().toISOString(),
				    user: { display_name: 'The app' } };
				comments.set(m[1], list.concat([c]));
				return [201, c];
			}
		}
		if (/^\/2\.0\/repositories\/[^/]+\/[^/]+\/commit\/[^/]+\/statuses\/build$/.test(u.pathname) && req.method === 'POST')
			return [201, (() => { try { return JSON.parse(body); } catch (e) { return {}; } })()];
		if ((m = u.pathname.match(/^\/ex\/jira\/([^/]+)\/rest\/api\/3\/issue\/([^/]+)$/)) && req.method === 'GET')
			return m[1] === cloudId ? [200, { id: '10001', key: m[2], fields: { summary: 'An issue from the Forge sim' } }]
			    : [404, { errorMessages: ['no such site'] }];
		return [404, { error: 'not found' }];
	};

	let jwksServer = null;
	const server = http.createServer(async (req, res) => {
		const u = new URL(req.url, 'http://x');
		const q = u.searchParams;
		const send = (status, body, type) => {
			if (res.headersSent)
				return;
			res.writeHead(status, { 'Content-Type': type || 'application/json' });
			res.end(typeof body === 'string' ? body : JSON.stringify(body));
		};
		try {
			const body = await readBody(req, 1 << 20);
			if (u.pathname === '/.well-known/jwks.json') {
				count++;
				if (mode === 'down')
					return send(503, '{"error":"down"}');
				if (mode === 'slow') {
					const t = setTimeout(() => send(200, { keys: keys.map((k) => k.jwk) }), slowMs);
					res.on('close', () => clearTimeout(t));
					return undefined;
				}
				if (mode === 'huge') {
					// 10 MB of a syntactically valid set: keys no one asked for
					res.writeHead(200, { 'Content-Type': 'application/json' });
					const pad = JSON.stringify({ kty: 'oct', kid: 'x'.repeat(1000), k: 'AA' });
					res.write('{"keys":[');
					for (let n = 0; n < 10 * 1024; n++)
						if (!res.write((n ? ',' : '') + pad))
							await new Promise((r) => res.once('drain', r));
					return res.end(']}');
				}
				return send(200, { keys: keys.map((k) => k.jwk) });
			}
			if (u.pathname === '/_ctl/info')
				return send(200, { url, app, installationId: inst0, workspace, repository, cloudId,
				    kids: keys.map((k) => k.kid), mode });
			if (u.pathname === '/_ctl/count')
				return send(200, String(count), 'text/plain');
			if (u.pathname === '/_ctl/mode') {
				mode = q.get('mode') || 'up';
				if (q.get('ms'))
					slowMs = Number(q.get('ms'));
				return send(200, mode, 'text/plain');
			}
			if (u.pathname === '/_ctl/rotate') {
				// a new key signs from now on; the old ones leave the set unless keep=1
				const k = await newKey();
				if (q.get('keep') !== '1')
					retired = retired.concat(keys);
				keys = q.get('keep') === '1' ? keys.concat([k]) : [k];
				return send(200, k.kid, 'text/plain');
			}
			if (u.pathname === '/_ctl/fit') {
				const t = await fit(q.get('case') || 'good', q);
				return t ? send(200, t, 'text/plain') : send(400, 'no such case', 'text/plain');
			}
			if (u.pathname === '/_ctl/fits') {
				// n tokens of one case, one a line (a bench or a burst signs them ahead)
				const n = Math.min(Number(q.get('n') || 1), 100000), out = [];
				for (let i = 0; i < n; i++)
					out.push(await fit(q.get('case') || 'good', q));
				return out[0] ? send(200, out.join('\n') + '\n', 'text/plain') : send(400, 'no such case', 'text/plain');
			}
			if (u.pathname === '/_ctl/system')
				return send(200, await system(q), 'text/plain');
			if (u.pathname === '/_ctl/event') {
				const e = event(q.get('type') || 'pr', q);
				return e ? send(200, e) : send(400, 'no such event', 'text/plain');
			}
			if (u.pathname === '/_ctl/send') {
				// plays Forge towards the app: POST TO (the app's /forge/events or /forge/merge-check)
				// with a fresh FIT of CASE, the event TYPE and, with system=1, a new system token
				const to = q.get('to');
				const e = q.get('type') === 'raw' ? JSON.parse(body || '{}') : event(q.get('type') || 'pr', q);
				if (!to || !e)
					return send(400, 'to and type are required', 'text/plain');
				const headers = { 'Content-Type': 'application/json' };
				const t = await fit(q.get('case') || 'good', q);
				if (t)
					headers.Authorization = 'Bearer ' + t;
				if (q.get('system') === '1')
					headers['x-forge-oauth-system'] = await system(q);
				const r = await fetch(to, { method: 'POST', headers, body: JSON.stringify(e),
				    signal: AbortSignal.timeout(15000) });
				return send(200, { status: r.status, body: await r.text() });
			}
			if (u.pathname === '/_ctl/pr') {
				// the title GET .../pullrequests/{id} answers, and how long it waits first
				prs.set(Number(q.get('id')), { title: q.get('title') || 'Fix', delay: Number(q.get('delay') || 0) });
				return send(200, 'ok', 'text/plain');
			}
			if (u.pathname === '/_ctl/system-tokens')
				return send(200, [...systemTokens.keys()].join('\n') + '\n', 'text/plain');
			if (u.pathname === '/_ctl/calls')
				return send(200, calls);
			if (u.pathname === '/_ctl/stop') {
				send(200, 'ok', 'text/plain');
				return setImmediate(() => process.exit(0));
			}
			const [status, out] = await rest(req, u, body);
			return send(status, out);
		} catch (e) {
			return send(500, String(e && e.stack || e), 'text/plain');
		}
	});
	jwksServer = server;
	const port = Number(args.port || 0);
	await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
	url = 'http://127.0.0.1:' + jwksServer.address().port;
	const info = { url, port: jwksServer.address().port, pid: process.pid, app, jwks: url + '/.well-known/jwks.json' };
	fs.writeFileSync(path.join(statedir, 'forge.json.tmp'), JSON.stringify(info));
	fs.renameSync(path.join(statedir, 'forge.json.tmp'), path.join(statedir, 'forge.json'));
	process.stdout.write(JSON.stringify(info) + '\n');
	const stop = () => { server.closeAllConnections && server.closeAllConnections(); process.exit(0); };
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
}

module.exports = { serve };
