#!/usr/bin/env node
// mock-app.js: a minimal reference app (doc/protocol.md §4-§6, §8) in Node with atlassian-jwt, for
// the simulator's self-test only: the drivers' tokens must pass it and their forgeries must not.
// It is not connect-fcgi and proves nothing about it.
//
//   node mock-app.js --state DIR --app-key KEY --install-keys URL
// Prints {"port","url"} on stdout; tenants are kept in memory; GET /_tenants shows them.
'use strict';

const http = require('http');
const { parseArgs, jwt, qsh, decodeUnverified, stripSlash, now } = require('./lib/common');

const args = parseArgs(process.argv.slice(2));
const appKey = args['app-key'] || 'mock-app';
const keysUrl = stripSlash(args['install-keys'] || 'http://127.0.0.1:1/install-keys');
const tenants = {};
let base = '';

function fetchKey(kid) {
	return new Promise((resolve, reject) => {
		http.get(`${keysUrl}/${kid}`, { timeout: 3000 }, (res) => {
			let d = '';
			res.on('data', (c) => { d += c; });
			res.on('end', () => (res.statusCode === 200 ? resolve(d) : reject(new Error(`key ${res.statusCode}`))));
		}).on('error', reject).on('timeout', function () { this.destroy(new Error('key timeout')); });
	});
}

function fail(msg) { const e = new Error(msg); e.status = 401; throw e; }

function checkClaims(c, path, method, url, aud) {
	if (c.qsh !== qsh(method, url, base))
		fail(`qsh for ${path}`);
	if (typeof c.exp !== 'number' || c.exp < now() - 30)
		fail('expired');
	if (aud !== undefined) {
		const a = Array.isArray(c.aud) ? c.aud[0] : c.aud;
		if (stripSlash(a || '') !== stripSlash(aud))
			fail('aud');
	}
}

async function verify(req, body, path) {
	const h = req.headers.authorization || '';
	const token = h.startsWith('JWT ') ? h.slice(4) : null;
	const url = base + req.url;
	if (path === '/installed' || path === '/uninstalled') {
		if (body.productType === 'jira') {
			if (!token)
				fail('unsigned jira lifecycle');
			const { header, claims } = decodeUnverified(token);
			if (header.alg !== 'RS256' || !/^[0-9a-f-]{36}$/.test(header.kid || ''))
				fail('alg/kid');
			const pem = await fetchKey(header.kid);
			try { jwt.decodeAsymmetric(token, pem, 'RS256'); } catch (e) { fail('signature'); }
			if (claims.iss !== body.clientKey)
				fail('iss');
			checkClaims(claims, path, 'POST', url, base);
			return;
		}
		const t = tenants[body.clientKey];
		if (!t) {
			if (path === '/uninstalled')
				fail('unknown tenant');
			if (token)
				try { jwt.decodeSymmetric(token, body.sharedSecret, 'HS256'); } catch (e) { fail('signature (new secret)'); }
			return; // trust on first use
		}
		if (!token)
			fail('unsigned reinstall');
		try { jwt.decodeSymmetric(token, t.sharedSecret, 'HS256'); } catch (e) { fail('signature (stored secret)'); }
		const { claims } = decodeUnverified(token);
		if (claims.iss !== body.clientKey)
			fail('iss');
		checkClaims(claims, path, 'POST', url);
		return;
	}
	// webhook, page: look the tenant up by iss
	const tok = token || new URL(url).searchParams.get('jwt');
	if (!tok)
		fail('no token');
	const { claims } = decodeUnverified(tok);
	const t = tenants[claims.iss];
	if (!t)
		fail('unknown iss');
	try { jwt.decodeSymmetric(tok, t.sharedSecret, 'HS256'); } catch (e) { fail('signature'); }
	if (claims.qsh === 'context-qsh' && path === '/oauth-callback')
		return;
	checkClaims(claims, path, req.method, url);
}

const server = http.createServer((req, res) => {
	let raw = '';
	req.on('data', (c) => { raw += c; });
	req.on('end', async () => {
		const path = req.url.split('?')[0];
		const send = (s, b) => { res.writeHead(s, { 'Content-Type': 'application/json' }); res.end(b === undefined ? '' : JSON.stringify(b)); };
		try {
			if (path === '/atlassian-connect.json')
				return send(200, { key: appKey, baseUrl: base });
			if (path === '/_tenants')
				return send(200, tenants);
			let body = {};
			if (req.method === 'POST') {
				if (!/^application\/json/.test(req.headers['content-type'] || ''))
					return send(415, { error: 'content-type' });
				body = JSON.parse(raw);
			}
			await verify(req, body, path);
			if (path === '/installed') {
				tenants[body.clientKey] = { sharedSecret: body.sharedSecret, installed: true };
				return send(204);
			}
			if (path === '/uninstalled') {
				if (tenants[body.clientKey])
					tenants[body.clientKey].installed = false;
				return send(204);
			}
			if (path === '/webhook')
				return send(200, { ok: true, event: req.headers['x-event-key'] || body.webhookEvent });
			if (path === '/oauth-callback')
				return send(200, { ok: true });
			return send(404, { error: 'not_found' });
		} catch (e) {
			return send(e.status || 400, { error: e.message });
		}
	});
});
server.listen(0, '127.0.0.1', () => {
	base = `http://127.0.0.1:${server.address().port}`;
	process.stdout.write(JSON.stringify({ port: server.address().port, url: base }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
