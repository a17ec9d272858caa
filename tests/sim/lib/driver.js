// lib/driver.js: the simulator's driver commands (install, uninstall, webhook, page): each plays
// one request of Bitbucket or Jira against the app, prints the answer and records the outcome in
// the state directory (tenants.json). See ../README.md.
'use strict';

const http = require('http');
const https = require('https');
const crypto = require('crypto');
const {
	State, now, qsh, signHS, signRS, signRaw, randomSecret, fixture, stripSlash,
} = require('./common');

class Usage extends Error {}

function need(args, name) {
	const v = args[name];
	if (v === undefined || v === true || v === '')
		throw new Usage(`--${name} is required`);
	return v;
}

// request(method, url, headers, body, timeoutMs): {status, headers, body}
function request(method, url, headers, body, timeoutMs) {
	return new Promise((resolve, reject) => {
		const u = new URL(url);
		const mod = u.protocol === 'https:' ? https : http;
		const data = body === undefined || body === null ? null : Buffer.from(body);
		const h = { ...headers };
		if (data)
			h['Content-Length'] = data.length;
		const req = mod.request(url, { method, headers: h, timeout: timeoutMs || 15000 }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
		});
		req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs || 15000} ms`)));
		req.on('error', reject);
		if (data)
			req.write(data);
		req.end();
	});
}

// The app's key: --app-key, else the app's descriptor, else the server's --app-key, else the
// fixture's key.
async function appKey(args, st, product) {
	if (typeof args['app-key'] === 'string')
		return args['app-key'];
	try {
		const r = await request('GET', `${stripSlash(args.app)}/atlassian-connect.json`, {}, null, 5000);
		if (r.status === 200) {
			const d = JSON.parse(r.body);
			if (typeof d.key === 'string' && d.key)
				return d.key;
		}
	} catch (e) { /* no descriptor: fall back */ }
	const sim = st.sim();
	if (sim && sim.appKey)
		return sim.appKey;
	return product === 'jira' ? fixture('jira-installed.json').key : fixture('bitbucket-installed.json').key;
}

function simUrl(st) {
	const sim = st.sim();
	return sim ? sim.url : null;
}

// Product of a command: --product, else the stored tenant's, else bitbucket.
function productOf(args, tenant) {
	const p = typeof args.product === 'string' ? args.product : tenant && tenant.product || 'bitbucket';
	if (p !== 'bitbucket' && p !== 'jira')
		throw new Usage(`--product must be bitbucket or jira, not ${p}`);
	return p;
}

// claimsFor(args, defaults): the token claims with the forging flags applied.
function applyClaimFlags(args, claims, appUrl) {
	if (typeof args.iss === 'string')
		claims.iss = args.iss;
	if (typeof args.sub === 'string')
		claims.sub = args.sub;
	if (args.aud === 'none')
		delete claims.aud;
	else if (typeof args.aud === 'string')
		claims.aud = args.aud;
	if (args['exp-offset'] !== undefined)
		claims.exp = now() + Number(args['exp-offset']);
	if (args['iat-offset'] !== undefined)
		claims.iat = now() + Number(args['iat-offset']);
	if (typeof args['qsh-for'] === 'string') {
		const [m, p] = args['qsh-for'].includes(' ') ? args['qsh-for'].split(' ') : ['POST', args['qsh-for']];
		claims.qsh = qsh(m, stripSlash(appUrl) + p, appUrl);
	}
	if (typeof args.qsh === 'string')
		claims.qsh = args.qsh;
	if (args.qsh === 'none')
		delete claims.qsh;
	return claims;
}

// signBitbucket(args, st, clientKey, claims, newSecret): the Authorization header value or
// null. --sign none|stored|new|other:K2|secret:S (default: stored when known, else none).
function signHsToken(args, st, clientKey, claims, newSecret, dflt) {
	const how = typeof args.sign === 'string' ? args.sign : dflt;
	let secret;
	if (how === 'none')
		return { header: null, how };
	if (how === 'stored') {
		const t = st.tenant(clientKey);
		if (!t || !t.sharedSecret)
			throw new Usage(`--sign stored: no stored secret for ${clientKey}`);
		secret = t.sharedSecret;
	} else if (how === 'new') {
		if (!newSecret)
			throw new Usage('--sign new: no new secret in this request');
		secret = newSecret;
	} else if (how.startsWith('other:')) {
		const t = st.tenant(how.slice(6));
		if (!t || !t.sharedSecret)
			throw new Usage(`--sign ${how}: no stored secret for ${how.slice(6)}`);
		secret = t.sharedSecret;
	} else if (how.startsWith('secret:')) {
		secret = how.slice(7);
	} else {
		throw new Usage(`--sign ${how}: want none, stored, new, other:CLIENTKEY or secret:S`);
	}
	const alg = typeof args.alg === 'string' ? args.alg : 'HS256';
	const token = alg === 'HS256' ? signHS(claims, secret) : signRaw({ typ: 'JWT', alg }, claims, alg, secret);
	return { header: `JWT ${token}`, how, token };
}

// signJiraInstall: RS256 with a sim key (--kid, --key-from), or the forgeries --alg HS256 (the
// public key PEM as HMAC secret), --alg none, --sign none.
function signRsToken(args, st, claims) {
	if (args.sign === 'none')
		return { header: null, how: 'none' };
	const kid = typeof args.kid === 'string' ? args.kid : st.defaultKid();
	const own = st.ensureKey(kid);
	const signer = typeof args['key-from'] === 'string' ? st.ensureKey(args['key-from']) : own;
	const alg = typeof args.alg === 'string' ? args.alg : 'RS256';
	let token;
	if (alg === 'RS256')
		token = signRS(claims, signer.privateKey, kid);
	else if (alg === 'none')
		token = signRaw({ typ: 'JWT', alg: 'none', kid }, claims, 'none');
	else if (/^HS/.test(alg))
		token = signRaw({ typ: 'JWT', alg, kid }, claims, alg, own.publicKey);
	else
		throw new Usage(`--alg ${alg}: want RS256, HS256 or none`);
	return { header: `JWT ${token}`, how: `${alg} kid ${kid}`, kid, token };
}

function mergeOverride(body, args) {
	if (typeof args['body-override'] !== 'string')
		return body;
	const o = JSON.parse(args['body-override']);
	for (const [k, v] of Object.entries(o)) {
		if (v === null)
			delete body[k];
		else
			body[k] = v;
	}
	return body;
}

function matches(status, expect) {
	const e = typeof expect === 'string' ? expect : '2xx';
	return e.split(',').some((x) => {
		x = x.trim();
		if (/^[1-5]xx$/.test(x))
			return Math.floor(status / 100) === Number(x[0]);
		return Number(x) === status;
	});
}

function report(args, r, extra) {
	if (args.json) {
		process.stdout.write(JSON.stringify({ status: r.status, headers: r.headers, body: r.body, ...extra }) + '\n');
	} else {
		process.stdout.write(`${r.status}\n`);
		if (r.headers.location)
			process.stdout.write(`Location: ${r.headers.location}\n`);
		if (r.body)
			process.stdout.write(r.body.endsWith('\n') ? r.body : r.body + '\n');
	}
	return matches(r.status, args.expect) ? 0 : 1;
}

// ------------------------------------------------------------------------- lifecycle
async function lifecycle(args, event) {
	const st = new State(args.state);
	const app = stripSlash(need(args, 'app'));
	const clientKey = need(args, 'client-key');
	const stored = st.tenant(clientKey);
	const product = productOf(args, stored);
	const sim = simUrl(st);
	const dfltBase = product === 'jira' ? (sim ? `${sim}/jira` : null) : sim;
	const baseUrl = typeof args['base-url'] === 'string' ? args['base-url'] :
	    event === 'uninstalled' && stored && stored.baseUrl || dfltBase;
	const baseApiUrl = typeof args['base-api-url'] === 'string' ? args['base-api-url'] :
	    event === 'uninstalled' && stored && stored.baseApiUrl || (sim ? `${sim}/api` : null);
	if (!baseUrl)
		throw new Usage('no running sim in --state (sim.json): give --base-url and --base-api-url');
	const key = await appKey(args, st, product);

	const body = fixture(`${product}-${event}.json`);
	body.key = key;
	body.clientKey = clientKey;
	body.baseUrl = baseUrl;
	body.eventType = event;
	let secret = null;
	if (product === 'bitbucket') {
		body.baseApiUrl = baseApiUrl;
	} else {
		delete body.baseApiUrl;
		body.displayUrl = baseUrl;
		body.description = `Simulated Jira at ${baseUrl}`;
		if (typeof args['oauth-client-id'] === 'string')
			body.oauthClientId = args['oauth-client-id'];
		else if (stored && stored.oauthClientId)
			body.oauthClientId = stored.oauthClientId;
		else
			body.oauthClientId = crypto.randomBytes(16).toString('hex');
	}
	if (event === 'installed') {
		secret = typeof args.secret === 'string' ? args.secret : randomSecret();
		body.sharedSecret = secret;
	} else {
		delete body.sharedSecret;
	}
	mergeOverride(body, args);

	const path = `/${event}`;
	const claims = { iss: clientKey, iat: now(), qsh: qsh('POST', app + path, app) };
	let auth;
	if (product === 'bitbucket') {
		claims.aud = clientKey;
		claims.exp = claims.iat + 3600;
		applyClaimFlags(args, claims, app);
		const dflt = event === 'installed' ? (stored && stored.sharedSecret ? 'stored' : 'none') : 'stored';
		auth = signHsToken(args, st, clientKey, claims, secret, dflt);
	} else {
		claims.aud = app;
		claims.exp = claims.iat + 180;
		applyClaimFlags(args, claims, app);
		auth = signRsToken(args, st, claims);
	}

	if (typeof args['token-from'] === 'string') {
		// a replay: the Authorization of a request saved with --save, with this body
		const saved = JSON.parse(require('fs').readFileSync(args['token-from'], 'utf8'));
		auth = { header: saved.authorization, how: `replay of ${args['token-from']}` };
	}
	const headers = { 'Content-Type': typeof args['content-type'] === 'string' ? args['content-type'] : 'application/json' };
	if (auth.header)
		headers.Authorization = auth.header;
	if (product === 'jira')
		headers['User-Agent'] = 'Atlassian Connect (simulated)';
	else
		headers['User-Agent'] = 'Bitbucket-Webhooks/2.0 (simulated)';
	const raw = typeof args['raw-body'] === 'string' ? args['raw-body'] : JSON.stringify(body);
	if (typeof args.save === 'string')
		require('fs').writeFileSync(args.save, JSON.stringify({ method: 'POST', url: app + path, authorization: auth.header, body: raw }) + '\n');
	const r = await request('POST', app + path, headers, raw);

	const accepted = r.status >= 200 && r.status < 300;
	const attempt = { event, status: r.status, sign: auth.how, time: new Date().toISOString() };
	st.updateTenant(clientKey, (t) => {
		t.product = product;
		t.attempts = (t.attempts || []).slice(-19).concat([attempt]);
		if (accepted) {
			t.appKey = key;
			t.baseUrl = body.baseUrl;
			if (body.baseApiUrl)
				t.baseApiUrl = body.baseApiUrl;
			if (body.oauthClientId)
				t.oauthClientId = body.oauthClientId;
			if (event === 'installed') {
				t.sharedSecret = body.sharedSecret;
				t.installed = true;
				t.installedAt = attempt.time;
			} else {
				t.installed = false;
			}
		} else if (!t.sharedSecret) {
			t.installed = false;
		}
		return t;
	});
	return report(args, r, { sign: auth.how, accepted });
}

// --------------------------------------------------------------------------- webhook
const WEBHOOK_FIXTURE = {
	'repo:push': 'bitbucket-webhook-repo-push.json',
	'pullrequest:created': 'bitbucket-webhook-pullrequest-created.json',
	'pullrequest:updated': 'bitbucket-webhook-pullrequest-created.json',
	'pullrequest:fulfilled': 'bitbucket-webhook-pullrequest-created.json',
	'repo:commit_comment_created': 'bitbucket-webhook-commit-comment-created.json',
};

async function webhook(args) {
	const st = new State(args.state);
	const app = stripSlash(need(args, 'app'));
	const clientKey = need(args, 'client-key');
	const event = need(args, 'event');
	const t = st.tenant(clientKey);
	const product = productOf(args, t) === 'jira' || event.startsWith('jira:') ? 'jira' : 'bitbucket';
	let payload;
	if (typeof args.payload === 'string') {
		payload = JSON.parse(require('fs').readFileSync(args.payload, 'utf8'));
	} else if (product === 'jira') {
		payload = fixture('jira-webhook-issue-updated.json');
		payload.webhookEvent = event;
		payload.timestamp = Date.now();
		if (event !== 'jira:issue_updated')
			delete payload.changelog;
	} else {
		payload = fixture(WEBHOOK_FIXTURE[event] || 'bitbucket-webhook-repo-push.json');
		payload.event = event;
	}
	const path = typeof args.path === 'string' ? args.path : '/webhook';
	const url = app + path;
	const claims = { iss: clientKey, iat: now(), qsh: qsh('POST', url, app) };
	if (product === 'bitbucket') {
		claims.aud = clientKey;
		claims.exp = claims.iat + 3600;
	} else {
		claims.sub = typeof args.user === 'string' ? args.user : '000000000000000000000c01';
		claims.exp = claims.iat + 180;
	}
	applyClaimFlags(args, claims, app);
	const auth = signHsToken(args, st, clientKey, claims, null, 'stored');
	const id = typeof args['delivery-id'] === 'string' ? args['delivery-id'] : crypto.randomUUID();
	const headers = { 'Content-Type': typeof args['content-type'] === 'string' ? args['content-type'] : 'application/json' };
	if (auth.header)
		headers.Authorization = auth.header;
	if (product === 'bitbucket') {
		headers['User-Agent'] = 'Bitbucket-Webhooks/2.0';
		headers['X-Event-Key'] = event;
		headers['X-Request-UUID'] = id;
		headers['X-Hook-UUID'] = typeof args['hook-uuid'] === 'string' ? args['hook-uuid'] :
		    (t && t.hookUuid) || crypto.randomUUID();
		headers['X-Attempt-Number'] = String(args.attempt || 1);
		if (t && !t.hookUuid && typeof args['hook-uuid'] !== 'string')
			st.updateTenant(clientKey, (x) => { x.hookUuid = headers['X-Hook-UUID']; return x; });
	} else {
		headers['User-Agent'] = 'Atlassian Webhook HTTP Client';
		headers['X-Atlassian-Webhook-Identifier'] = id;
		if (args.attempt && Number(args.attempt) > 1)
			headers['X-Atlassian-Webhook-Retry'] = String(Number(args.attempt) - 1);
	}
	const raw = typeof args['raw-body'] === 'string' ? args['raw-body'] : JSON.stringify(payload);
	const r = await request('POST', url, headers, raw);
	return report(args, r, { deliveryId: id, sign: auth.how });
}

// ------------------------------------------------------------------------------ page
async function page(args) {
	const st = new State(args.state);
	const app = stripSlash(need(args, 'app'));
	const clientKey = need(args, 'client-key');
	const t = st.tenant(clientKey);
	const product = productOf(args, t);
	const path = typeof args.path === 'string' ? args.path : '/oauth-callback';
	const extra = typeof args.query === 'string' ? args.query : '';
	const url0 = app + path + (extra ? `?${extra}` : '');
	const claims = {
		iss: clientKey, iat: now(), exp: now() + 180,
		sub: typeof args.user === 'string' ? args.user :
		    product === 'jira' ? '000000000000000000000c01' : '{00000000-0000-4000-8000-0000000000b1}',
		qsh: args['context-qsh'] ? 'context-qsh' : qsh('GET', url0, app),
	};
	if (product === 'bitbucket')
		claims.aud = clientKey;
	applyClaimFlags(args, claims, app);
	const auth = signHsToken(args, st, clientKey, claims, null, 'stored');
	const url = auth.token ? `${url0}${extra ? '&' : '?'}jwt=${auth.token}` : url0;
	const r = await request('GET', url, {}, null);
	if (typeof args.expect !== 'string')
		args.expect = '2xx,3xx';
	return report(args, r, { sign: auth.how });
}

async function drive(cmd, args) {
	try {
		if (cmd === 'install')
			return await lifecycle(args, 'installed');
		if (cmd === 'uninstall')
			return await lifecycle(args, 'uninstalled');
		if (cmd === 'webhook')
			return await webhook(args);
		if (cmd === 'page')
			return await page(args);
		throw new Usage(`unknown command ${cmd}`);
	} catch (e) {
		process.stderr.write(`sim ${cmd}: ${e instanceof Usage ? '' : 'error: '}${e.message}\n`);
		return 2;
	}
}

module.exports = { drive, request, Usage };
