// lib/server.js: the simulator's loopback HTTP server, playing Bitbucket Cloud and Jira Cloud
// for the app (see ../README.md). Every request outside /_sim/ is verified, recorded and then
// answered (or failed on purpose, per the control API).
'use strict';

const fs = require('fs');
const http = require('http');
const crypto = require('crypto');
const {
	State, now, qsh, canonical, decodeUnverified, stripSlash, jwt, OAUTH_AUD,
} = require('./common');

const MAX_BODY = 2 * 1024 * 1024;
const LEEWAY = 30; // seconds of clock skew the sim tolerates on exp / iat

function defaultControl() {
	return {
		installKeys: 'ok', // ok | down (503) | close | hang | garbage | huge | "<status>"
		token: 'ok', // Bitbucket JWT grant: ok | "<status>" | close | hang
		jiraToken: 'ok', // Jira impersonation token endpoint: same values
		tokenExpiresIn: 7200,
		enforce: true, // answer 401 when verification fails
		fail: [], // [{path, method?, status, times?, retryAfter?, body?}]
		commits: {}, // short hash -> full hash (GET .../commit/{hash})
		delayMs: 0, // delay before every (non-/_sim) answer
		hold: [], // [{path, method?, ms, times?}]: served (stored) at once, answered ms later
		userDisplayName: 'Simulated App User', // display_name of GET /api/2.0/user
		forgeSystemTokens: [], // app system tokens Forge issued: the Bearer of /ex/bitbucket/{ws}/2.0/...
		pullrequests: {}, // id -> {title, hash}: GET .../pullrequests/{id}
	};
}

function redactHeaders(h) {
	const out = {};
	for (const [k, v] of Object.entries(h)) {
		if (k === 'authorization' || k === 'cookie' || k === 'proxy-authorization') {
			const s = String(v);
			const sp = s.indexOf(' ');
			out[k] = (sp > 0 ? s.slice(0, sp) + ' ' : '') + '<redacted>';
		} else {
			out[k] = v;
		}
	}
	return out;
}

function parseBody(buf, ctype) {
	const text = buf.toString('utf8');
	if (buf.length === 0)
		return null;
	if (/json/i.test(ctype || '')) {
		try { return JSON.parse(text); } catch (e) { return text; }
	}
	if (/x-www-form-urlencoded/i.test(ctype || ''))
		return Object.fromEntries(new URLSearchParams(text));
	return text;
}

function splitUrl(raw) {
	const q = raw.indexOf('?');
	const path = q < 0 ? raw : raw.slice(0, q);
	const query = {};
	if (q >= 0) {
		for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) {
			if (k in query)
				query[k] = [].concat(query[k], v);
			else
				query[k] = v;
		}
	}
	return { path, query };
}

function audList(aud) {
	if (aud === undefined || aud === null)
		return [];
	return Array.isArray(aud) ? aud : [aud];
}

class Sim {
	constructor(opts) {
		this.state = new State(opts.state);
		this.appKey = opts.appKey || null;
		this.host = '127.0.0.1';
		this.port = Number(opts.port || 0);
		this.control = defaultControl();
		this.requests = [];
		this.seq = 0;
		this.keyFetches = {};
		this.tokens = new Map(); // access token -> {product, clientKey, exp, accountId?}
		this.store = { comments: [], statuses: {} };
		this.sockets = new Set();
		this.logFile = this.state.file('requests.jsonl');
	}

	get url() { return `http://${this.host}:${this.port}`; }

	start() {
		return new Promise((resolve, reject) => {
			this.server = http.createServer((req, res) => this.handle(req, res));
			this.server.keepAliveTimeout = 2000;
			this.server.on('connection', (s) => {
				this.sockets.add(s);
				s.on('close', () => this.sockets.delete(s));
			});
			this.server.once('error', reject);
			this.server.listen(this.port, this.host, () => {
				this.port = this.server.address().port;
				const info = { port: this.port, url: this.url, pid: process.pid, appKey: this.appKey };
				this.state.writeSim(info);
				fs.writeFileSync(this.state.file('sim.pid'), `${process.pid}\n`);
				resolve(info);
			});
		});
	}

	stop() {
		try { fs.unlinkSync(this.state.file('sim.pid')); } catch (e) { /* gone */ }
		for (const s of this.sockets)
			s.destroy();
		return new Promise((resolve) => this.server.close(() => resolve()));
	}

	// ------------------------------------------------------------------------- plumbing
	handle(req, res) {
		const chunks = [];
		let size = 0;
		let over = false;
		req.on('data', (c) => {
			size += c.length;
			if (size > MAX_BODY) {
				over = true;
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => {
			if (over)
				return this.send(res, 413, { error: 'body too large' });
			const raw = Buffer.concat(chunks);
			Promise.resolve()
				.then(() => this.dispatch(req, res, raw))
				.catch((e) => {
					if (!res.headersSent)
						this.send(res, 500, { error: String(e && e.stack || e) });
				});
		});
	}

	send(res, status, body, headers) {
		// a held answer: what the request did is done (stored), the answer comes later or never
		if (res.simHoldMs > 0) {
			const ms = res.simHoldMs;
			res.simHoldMs = 0;
			setTimeout(() => this.send(res, status, body, headers), ms);
			return;
		}
		if (res.destroyed || res.writableEnded)
			return; // the client is gone (killed while it waited)
		const isText = typeof body === 'string' || Buffer.isBuffer(body);
		const data = body === undefined || body === null ? '' : isText ? body : JSON.stringify(body);
		const h = { 'Content-Length': Buffer.byteLength(data), ...(headers || {}) };
		if (data.length > 0 && !h['Content-Type'])
			h['Content-Type'] = isText ? 'text/plain; charset=utf-8' : 'application/json';
		res.writeHead(status, h);
		res.end(data);
	}

	// behave(res, how): a control value: "ok" (returns false: go on), a status, close, hang.
	behave(res, how, retryAfter, body) {
		if (how === undefined || how === null || how === 'ok')
			return false;
		if (how === 'close') {
			res.socket.destroy();
			return true;
		}
		if (how === 'hang')
			return true; // never answered; the socket is destroyed on stop
		const status = how === 'down' ? 503 : Number(how);
		const h = {};
		if (retryAfter !== undefined)
			h['Retry-After'] = String(retryAfter);
		this.send(res, Number.isInteger(status) && status >= 100 ? status : 500,
		    body !== undefined ? body : { type: 'error', error: { message: `simulated ${how}` } }, h);
		return true;
	}

	record(entry) {
		entry.seq = ++this.seq;
		this.requests.push(entry);
		try {
			fs.appendFileSync(this.logFile, JSON.stringify(entry) + '\n');
		} catch (e) { /* the log is a convenience */ }
	}

	async dispatch(req, res, raw) {
		const { path, query } = splitUrl(req.url);
		if (path.startsWith('/_sim/'))
			return this.simApi(req, res, path, query, raw);

		const entry = {
			time: new Date().toISOString(),
			method: req.method,
			path,
			url: req.url,
			query,
			headers: redactHeaders(req.headers),
			body: parseBody(raw, req.headers['content-type']),
			route: null,
			verification: null,
		};
		const route = this.route(req.method, path);
		entry.route = route.name;
		try {
			entry.verification = route.verify ? route.verify(req, entry, route.m) : null;
		} catch (e) {
			entry.verification = { ok: false, error: `verifier crashed: ${e.message}` };
		}
		this.record(entry);

		if (this.control.delayMs > 0)
			await new Promise((r) => setTimeout(r, this.control.delayMs));

		// Programmed failures come first: the product was down, whatever the request.
		for (const rule of this.control.fail) {
			if (rule.method && rule.method.toUpperCase() !== req.method)
				continue;
			if (rule.path && !new RegExp(rule.path).test(req.url))
				continue;
			if (rule.times !== undefined && rule.times > 0 && rule.used >= rule.times)
				continue;
			rule.used = (rule.used || 0) + 1;
			entry.injected = rule.status;
			// repeat: the body (a string) that many times, for answers larger than a control request may be
			const body = typeof rule.body === 'string' && rule.repeat > 1 ? rule.body.repeat(rule.repeat) : rule.body;
			return this.behave(res, rule.status === undefined ? 500 : rule.status, rule.retryAfter, body);
		}
		// An outage of the token endpoints hits signed and unsigned requests alike.
		if (route.outage && this.control[route.outage] !== 'ok' && this.behave(res, this.control[route.outage]))
			return undefined;
		const v = entry.verification;
		if (v && !v.ok && this.control.enforce && route.auth !== false) {
			return this.send(res, 401, { type: 'error', error: { message: `sim: ${v.error}` } },
			    route.jira ? {} : { 'WWW-Authenticate': 'JWT realm="sim"' });
		}
		for (const rule of this.control.hold) {
			if (rule.method && rule.method.toUpperCase() !== req.method)
				continue;
			if (rule.path && !new RegExp(rule.path).test(req.url))
				continue;
			if (rule.times !== undefined && rule.times > 0 && rule.used >= rule.times)
				continue;
			rule.used = (rule.used || 0) + 1;
			entry.held = Number(rule.ms) || 0;
			res.simHoldMs = entry.held;
			break;
		}
		return route.handler(req, res, entry, route.m);
	}

	// route(method, path): {name, verify, handler, m}
	route(method, path) {
		let m;
		if ((m = path.match(/^\/install-keys\/([^/]+)$/)))
			return { name: 'install-key', m, auth: false, handler: (q, r, e, mm) => this.installKey(r, mm) };
		if (path === '/site/oauth2/access_token' && method === 'POST') {
			return { name: 'bitbucket-token', m, outage: 'token', verify: (q, e) => this.verifyGrant(q, e),
			    handler: (q, r, e) => this.bitbucketToken(r, e) };
		}
		if ((m = path.match(/^\/api(\/2\.0\/.*)$/))) {
			return { name: 'bitbucket-rest', m, verify: (q, e) => this.verifyBitbucketRest(q, e),
			    handler: (q, r, e, mm) => this.bitbucketRest(q, r, e, mm[1]) };
		}
		// Forge (doc/protocol.md §11.3): apiBaseUrl's own path, then Bitbucket's; the Bearer is a system token
		if ((m = path.match(/^\/ex\/bitbucket\/([^/]+)(\/2\.0\/.*)$/))) {
			return { name: 'forge-bitbucket-rest', m, verify: (q, e, mm) => this.verifyForgeSystem(q, e, mm[1]),
			    handler: (q, r, e, mm) => this.bitbucketRest(q, r, e, mm[2]) };
		}
		if (path === '/oauth2/token' && method === 'POST') {
			return { name: 'jira-token', m, jira: true, outage: 'jiraToken', verify: (q, e) => this.verifyImpersonation(e),
			    handler: (q, r, e) => this.jiraToken(r, e) };
		}
		if ((m = path.match(/^(.*?)(\/rest\/(?:api|agile)\/.*)$/))) {
			return { name: 'jira-rest', m, jira: true, verify: (q, e, mm) => this.verifyJiraRest(q, e, mm[1]),
			    handler: (q, r, e, mm) => this.jiraRest(q, r, e, mm[2]) };
		}
		return { name: 'unknown', auth: false,
		    handler: (q, r) => this.send(r, 404, { type: 'error', error: { message: 'sim: no such route' } }) };
	}

	// ------------------------------------------------------------------ verification
	// checkHs(token, secret, want): verifies an HS256 token with atlassian-jwt and the claims
	// in want {iss, sub, qsh, qshCanonical}; returns the verification record.
	checkHs(token, tenant, want) {
		const v = { ok: false, scheme: 'JWT', clientKey: tenant ? tenant.clientKey : null };
		let dec;
		try {
			dec = decodeUnverified(token);
		} catch (e) {
			v.error = `malformed token: ${e.message}`;
			return v;
		}
		v.header = dec.header;
		v.claims = dec.claims;
		if (!tenant) {
			v.error = want.noTenant || 'unknown tenant';
			return v;
		}
		if (dec.header.alg !== 'HS256') {
			v.error = `alg ${dec.header.alg}, want HS256`;
			return v;
		}
		try {
			jwt.decodeSymmetric(token, tenant.sharedSecret, 'HS256');
		} catch (e) {
			v.error = `bad signature (not signed with the stored shared secret of ${tenant.clientKey})`;
			return v;
		}
		const c = dec.claims;
		const errors = [];
		if (want.iss !== undefined && c.iss !== want.iss) {
			errors.push(c.iss === tenant.clientKey ?
			    `iss is the clientKey; want the app key ${JSON.stringify(want.iss)}` :
			    `iss ${JSON.stringify(c.iss)}, want ${JSON.stringify(want.iss)}`);
		}
		if (want.sub !== undefined && c.sub !== want.sub)
			errors.push(`sub ${JSON.stringify(c.sub)}, want ${JSON.stringify(want.sub)}`);
		if (want.qsh !== undefined && c.qsh !== want.qsh) {
			errors.push(`qsh ${JSON.stringify(c.qsh)} does not match ${JSON.stringify(want.canonical)} (${want.qsh})`);
		}
		if (typeof c.exp !== 'number')
			errors.push('no numeric exp');
		else if (c.exp + LEEWAY < now())
			errors.push(`expired (exp ${c.exp}, now ${now()})`);
		if (typeof c.iat !== 'number')
			errors.push('no numeric iat');
		else if (c.iat > now() + LEEWAY)
			errors.push(`iat ${c.iat} in the future`);
		if (want.maxLifetime && typeof c.exp === 'number' && typeof c.iat === 'number' &&
		    c.exp - c.iat > want.maxLifetime)
			errors.push(`lifetime ${c.exp - c.iat} s > ${want.maxLifetime} s`);
		if (errors.length > 0) {
			v.error = errors[0];
			v.errors = errors;
			return v;
		}
		v.ok = true;
		return v;
	}

	tenantAppKey(t) {
		return (t && t.appKey) || this.appKey || undefined;
	}

	// authHeader(req): {scheme: 'JWT'|'Bearer'|..., token} or {error}
	authHeader(req, entry) {
		const a = req.headers.authorization;
		if (!a) {
			if (entry.query.jwt)
				return { error: 'no Authorization header (a ?jwt= query parameter is ignored)' };
			return { error: 'no Authorization header' };
		}
		const sp = a.indexOf(' ');
		const scheme = sp > 0 ? a.slice(0, sp) : a;
		const token = sp > 0 ? a.slice(sp + 1).trim() : '';
		return { scheme, token };
	}

	bearer(token, product) {
		const t = this.tokens.get(token);
		if (!t)
			return { ok: false, scheme: 'Bearer', error: 'unknown bearer token' };
		if (t.product !== product)
			return { ok: false, scheme: 'Bearer', error: `bearer token issued by ${t.product}` };
		if (t.exp < now())
			return { ok: false, scheme: 'Bearer', error: 'bearer token expired', clientKey: t.clientKey };
		return { ok: true, scheme: 'Bearer', clientKey: t.clientKey, accountId: t.accountId };
	}

	// bbTenant(claims): the Bitbucket tenant an app token is for (its sub), with an explanation
	// when the app put the clientKey in iss instead.
	bbTenant(claims) {
		const tenants = this.state.tenants();
		let tenant = typeof claims.sub === 'string' ? tenants[claims.sub] : null;
		let noTenant = `no tenant for sub ${JSON.stringify(claims.sub)}`;
		if (!tenant && typeof claims.iss === 'string' && tenants[claims.iss]) {
			tenant = tenants[claims.iss]; // to explain the classic mistake below
			noTenant = 'iss is the clientKey and sub is not';
		}
		if (tenant && typeof claims.sub !== 'string') {
			return { tenant, noTenant, early: { ok: false, scheme: 'JWT', claims, clientKey: tenant.clientKey,
			    error: 'no sub (want the clientKey); iss must be the app key' } };
		}
		return { tenant, noTenant };
	}

	verifyBitbucketRest(req, entry) {
		const a = this.authHeader(req, entry);
		if (a.error)
			return { ok: false, error: a.error };
		if (a.scheme === 'Bearer') {
			if (a.token.split('.').length === 3 && !this.tokens.has(a.token))
				return { ok: false, scheme: 'Bearer', error: 'a JWT sent as Bearer (use "Authorization: JWT")' };
			return this.bearer(a.token, 'bitbucket');
		}
		if (a.scheme !== 'JWT')
			return { ok: false, scheme: a.scheme, error: `unsupported scheme ${JSON.stringify(a.scheme)}` };
		let claims = {};
		try { claims = decodeUnverified(a.token).claims; } catch (e) { /* checkHs reports it */ }
		const { tenant, noTenant, early } = this.bbTenant(claims);
		if (early)
			return early;
		const full = this.url + req.url;
		const base = (tenant && tenant.baseApiUrl) || `${this.url}/api`;
		return this.checkHs(a.token, tenant, {
			noTenant,
			iss: this.tenantAppKey(tenant),
			sub: tenant ? tenant.clientKey : undefined,
			qsh: qsh(req.method, full, base),
			canonical: canonical(req.method, full, base),
		});
	}

	// A Forge call: "Authorization: Bearer <token>" with a token of control.forgeSystemTokens.
	verifyForgeSystem(req, entry, ws) {
		const a = this.authHeader(req, entry);
		if (a.error)
			return { ok: false, error: a.error };
		if (a.scheme !== 'Bearer')
			return { ok: false, scheme: a.scheme, error: `scheme ${JSON.stringify(a.scheme)}, want Bearer (a system token)` };
		if (!this.control.forgeSystemTokens.includes(a.token))
			return { ok: false, scheme: 'Bearer', error: 'not an app system token Forge issued' };
		return { ok: true, scheme: 'Bearer', clientKey: `forge:${decodeURIComponent(ws)}` };
	}

	verifyGrant(req, entry) {
		const a = this.authHeader(req, entry);
		if (a.error)
			return { ok: false, error: a.error };
		if (a.scheme !== 'JWT')
			return { ok: false, scheme: a.scheme, error: `scheme ${JSON.stringify(a.scheme)}, want "JWT"` };
		let claims = {};
		try { claims = decodeUnverified(a.token).claims; } catch (e) { /* reported below */ }
		const { tenant, noTenant, early } = this.bbTenant(claims);
		if (early)
			return early;
		const full = this.url + req.url;
		const base = (tenant && tenant.baseUrl) || this.url;
		const v = this.checkHs(a.token, tenant, {
			noTenant,
			iss: this.tenantAppKey(tenant),
			sub: tenant ? tenant.clientKey : undefined,
			qsh: qsh('POST', full, base),
			canonical: canonical('POST', full, base),
		});
		if (v.ok) {
			const b = entry.body && typeof entry.body === 'object' ? entry.body : {};
			if (b.grant_type !== 'urn:bitbucket:oauth2:jwt') {
				v.ok = false;
				v.error = `grant_type ${JSON.stringify(b.grant_type)}, want urn:bitbucket:oauth2:jwt (form body)`;
			}
		}
		return v;
	}

	verifyJiraRest(req, entry, context) {
		const a = this.authHeader(req, entry);
		if (a.error)
			return { ok: false, error: a.error };
		if (a.scheme === 'Bearer')
			return this.bearer(a.token, 'jira');
		if (a.scheme !== 'JWT')
			return { ok: false, scheme: a.scheme, error: `unsupported scheme ${JSON.stringify(a.scheme)}` };
		let claims = {};
		try { claims = decodeUnverified(a.token).claims; } catch (e) { /* reported by checkHs */ }
		const all = Object.values(this.state.tenants()).filter((t) => t.product === 'jira');
		// The tenant is the site the request reached: its baseUrl path is the context path.
		let cands = all.filter((t) => {
			try { return stripSlash(new URL(t.baseUrl).pathname) === context; } catch (e) { return false; }
		});
		const auds = audList(claims.aud);
		const byAud = cands.filter((t) => auds.includes(t.clientKey));
		if (byAud.length > 0)
			cands = byAud;
		if (cands.length === 0)
			return this.checkHs(a.token, null, { noTenant: `no Jira tenant with context path ${JSON.stringify(context)}` });
		let first = null;
		const full = this.url + req.url;
		for (const t of cands) {
			const v = this.checkHs(a.token, t, {
				iss: this.tenantAppKey(t),
				qsh: qsh(req.method, full, t.baseUrl),
				canonical: canonical(req.method, full, t.baseUrl),
			});
			if (v.ok && auds.length > 0 && !auds.includes(t.clientKey)) {
				v.ok = false;
				v.error = `aud ${JSON.stringify(claims.aud)} does not name the tenant`;
			}
			if (v.ok || !/bad signature/.test(v.error))
				return v;
			first = first || v;
		}
		return first;
	}

	verifyImpersonation(entry) {
		const b = entry.body && typeof entry.body === 'object' ? entry.body : {};
		if (b.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
			return { ok: false, error: `grant_type ${JSON.stringify(b.grant_type)}` };
		if (!b.assertion)
			return { ok: false, error: 'no assertion' };
		let dec;
		try { dec = decodeUnverified(b.assertion); } catch (e) { return { ok: false, error: `malformed assertion: ${e.message}` }; }
		const c = dec.claims;
		const v = { ok: false, header: dec.header, claims: c };
		const pre = 'urn:atlassian:connect:clientid:';
		if (typeof c.iss !== 'string' || !c.iss.startsWith(pre)) {
			v.error = `iss ${JSON.stringify(c.iss)}, want ${pre}{oauthClientId}`;
			return v;
		}
		const cid = c.iss.slice(pre.length);
		const tenant = Object.values(this.state.tenants()).find((t) => t.oauthClientId === cid);
		if (!tenant) {
			v.error = `no tenant with oauthClientId ${JSON.stringify(cid)}`;
			return v;
		}
		v.clientKey = tenant.clientKey;
		if (dec.header.alg !== 'HS256') {
			v.error = `alg ${dec.header.alg}, want HS256`;
			return v;
		}
		try {
			jwt.decodeSymmetric(b.assertion, tenant.sharedSecret, 'HS256');
		} catch (e) {
			v.error = 'bad signature (not the shared secret)';
			return v;
		}
		const errors = [];
		const upre = 'urn:atlassian:connect:useraccountid:';
		if (typeof c.sub !== 'string' || !c.sub.startsWith(upre) || c.sub.length === upre.length)
			errors.push(`sub ${JSON.stringify(c.sub)}, want ${upre}{accountId}`);
		if (stripSlash(c.tnt || '') !== stripSlash(tenant.baseUrl || ''))
			errors.push(`tnt ${JSON.stringify(c.tnt)}, want ${JSON.stringify(tenant.baseUrl)}`);
		const aud = audList(c.aud);
		if (!aud.some((x) => stripSlash(x) === OAUTH_AUD || stripSlash(x) === this.url))
			errors.push(`aud ${JSON.stringify(c.aud)}, want ${OAUTH_AUD}`);
		if (typeof c.iat !== 'number' || typeof c.exp !== 'number')
			errors.push('iat/exp missing');
		else if (c.exp + LEEWAY < now())
			errors.push('expired');
		else if (c.exp - c.iat > 60 + 5)
			errors.push(`lifetime ${c.exp - c.iat} s, want 60`);
		if (c.qsh !== undefined)
			v.warning = 'qsh present (not expected on an assertion)';
		if (b.scope !== undefined && b.scope !== b.scope.toUpperCase())
			errors.push(`scope ${JSON.stringify(b.scope)} not upper-case`);
		if (errors.length > 0) {
			v.error = errors[0];
			v.errors = errors;
			return v;
		}
		v.ok = true;
		v.accountId = c.sub.slice(upre.length);
		return v;
	}

	// ------------------------------------------------------------------------ handlers
	installKey(res, m) {
		let kid;
		try { kid = decodeURIComponent(m[1]); } catch (e) { kid = m[1]; }
		this.keyFetches[kid] = (this.keyFetches[kid] || 0) + 1;
		const how = this.control.installKeys;
		if (how === 'garbage')
			return this.send(res, 200, 'this is not a PEM key\n');
		if (how === 'huge')
			return this.send(res, 200, 'A'.repeat(1024 * 1024));
		if (this.behave(res, how))
			return;
		const key = this.state.key(kid);
		if (!key)
			return this.send(res, 404, 'Not Found\n');
		return this.send(res, 200, key.publicKey, { 'Content-Type': 'application/x-pem-file' });
	}

	bitbucketToken(res, entry) {
		const token = crypto.randomBytes(24).toString('base64url');
		const t = this.state.tenant(entry.verification.clientKey) || {};
		const exp = Number(this.control.tokenExpiresIn);
		this.tokens.set(token, { product: 'bitbucket', clientKey: t.clientKey, exp: now() + exp });
		entry.issuedToken = token.slice(0, 6) + '…';
		return this.send(res, 200, {
			access_token: token,
			scopes: t.scopes || 'pullrequest repository account',
			expires_in: exp,
			token_type: 'bearer',
		});
	}

	jiraToken(res, entry) {
		const token = crypto.randomBytes(24).toString('base64url');
		const exp = Number(this.control.tokenExpiresIn);
		const v = entry.verification;
		this.tokens.set(token, { product: 'jira', clientKey: v.clientKey, accountId: v.accountId, exp: now() + exp });
		return this.send(res, 200, { access_token: token, expires_in: exp, token_type: 'Bearer' });
	}

	fullHash(short) {
		if (this.control.commits[short])
			return this.control.commits[short];
		if (/^[0-9a-f]{40}$/.test(short))
			return short;
		if (/^(.)\1*$/.test(short))
			return short[0].repeat(40);
		return (short + crypto.createHash('sha1').update(short).digest('hex')).slice(0, 40);
	}

	bitbucketRest(req, res, entry, p) {
		const v = entry.verification || {};
		const body = entry.body && typeof entry.body === 'object' ? entry.body : {};
		let m;
		const repo = '^/2\\.0/repositories/([^/]+)/([^/]+)';
		const link = (x) => ({ href: `${this.url}/api${x}` });
		if (req.method === 'POST' && (m = p.match(new RegExp(`${repo}/(pullrequests|commit)/([^/]+)/comments/?$`)))) {
			if (!body.content || typeof body.content.raw !== 'string')
				return this.send(res, 400, { type: 'error', error: { message: 'content.raw is required' } });
			const id = 100000000 + this.store.comments.length + 1;
			const c = {
				id, kind: m[3] === 'pullrequests' ? 'pullrequest' : 'commit', workspace: m[1], repo: m[2],
				target: m[4], raw: body.content.raw, clientKey: v.clientKey, auth: v.scheme,
				created_on: new Date().toISOString(),
			};
			this.store.comments.push(c);
			return this.send(res, 201, {
				id, type: c.kind === 'pullrequest' ? 'pullrequest_comment' : 'commit_comment',
				content: { raw: c.raw, markup: 'markdown', type: 'rendered' },
				links: { self: link(`${p.replace(/\/$/, '')}/${id}`) },
			});
		}
		if (req.method === 'GET' && (m = p.match(new RegExp(`${repo}/(pullrequests|commit)/([^/]+)/comments/?$`))))
			return this.listComments(res, entry, p, m);
		if (req.method === 'POST' && (m = p.match(new RegExp(`${repo}/commit/([^/]+)/statuses/build/?$`)))) {
			if (!body.key || !body.state || !/^(INPROGRESS|SUCCESSFUL|FAILED|STOPPED)$/.test(body.state))
				return this.send(res, 400, { type: 'error', error: { message: 'key and a valid state are required' } });
			const k = `${m[1]}/${m[2]}/${m[3]}/${body.key}`;
			const existed = k in this.store.statuses;
			this.store.statuses[k] = { ...body, clientKey: v.clientKey, updated: new Date().toISOString() };
			return this.send(res, existed ? 200 : 201, { type: 'build', ...body, commit: { hash: this.fullHash(m[3]) } });
		}
		if (req.method === 'GET' && (m = p.match(new RegExp(`${repo}/commit/([^/]+)/?$`)))) {
			const hash = this.fullHash(m[3]);
			return this.send(res, 200, {
				type: 'commit', hash, message: 'simulated commit\n', date: '2026-01-01T00:00:00+00:00',
				links: { self: link(`/2.0/repositories/${m[1]}/${m[2]}/commit/${hash}`) },
				repository: { type: 'repository', full_name: `${m[1]}/${m[2]}`, name: m[2] },
			});
		}
		if (req.method === 'GET' && (m = p.match(new RegExp(`${repo}/commits(/.*)?$`)))) {
			const inc = [].concat(entry.query.include || []);
			const values = inc.map((h) => ({ type: 'commit', hash: this.fullHash(h), message: 'simulated commit\n' }));
			return this.send(res, 200, { pagelen: 30, values });
		}
		if (req.method === 'GET' && (m = p.match(new RegExp(`${repo}/pullrequests/([0-9]+)/?$`)))) {
			const pr = this.control.pullrequests[m[3]];
			if (!pr)
				return this.send(res, 404, { type: 'error', error: { message: `sim: no pull request ${m[3]}` } });
			return this.send(res, 200, {
				type: 'pullrequest', id: Number(m[3]), title: pr.title, state: 'OPEN',
				source: { commit: { type: 'commit', hash: this.fullHash(pr.hash || '111111111111') } },
			});
		}
		if (req.method === 'GET' && /^\/2\.0\/user\/?$/.test(p)) {
			return this.send(res, 200, {
				type: 'app_user', uuid: '{00000000-0000-4000-8000-00000000a0b0}', display_name: String(this.control.userDisplayName),
				account_id: '000000000000000000000a0b', clientKey: v.clientKey,
			});
		}
		return this.send(res, 404, { type: 'error', error: { message: `sim: no Bitbucket route ${req.method} ${p}` } });
	}

	// GET .../pullrequests/{id}/comments and .../commit/{hash}/comments: a paginated list as
	// Bitbucket's (page from 1, pagelen 1..100 (more: 400), default 10; sort by created_on or
	// id, "-" for newest first; `next` until the last page), each comment with its content.raw.
	listComments(res, entry, p, m) {
		const q = entry.query;
		const one = (x) => (Array.isArray(x) ? x[x.length - 1] : x);
		const kind = m[3] === 'pullrequests' ? 'pullrequest' : 'commit';
		const same = kind === 'commit' ? (a, b) => this.fullHash(a) === this.fullHash(b) : (a, b) => a === b;
		const page = q.page === undefined ? 1 : Number(one(q.page));
		const pagelen = q.pagelen === undefined ? 10 : Number(one(q.pagelen));
		const sort = q.sort === undefined ? 'id' : String(one(q.sort));
		if (!Number.isInteger(page) || page < 1 || !Number.isInteger(pagelen) || pagelen < 1 || pagelen > 100)
			return this.send(res, 400, { type: 'error', error: { message: 'page and pagelen (up to 100) are positive integers' } });
		if (!/^-?(id|created_on)$/.test(sort))
			return this.send(res, 400, { type: 'error', error: { message: `sim: cannot sort by ${sort}` } });
		const len = pagelen;
		const key = sort.replace(/^-/, '');
		const all = this.store.comments
			.filter((c) => c.kind === kind && c.workspace === m[1] && c.repo === m[2] && same(c.target, m[4]))
			.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : a.id - b.id) * (sort[0] === '-' ? -1 : 1));
		const values = all.slice((page - 1) * len, page * len).map((c) => ({
			id: c.id, type: kind === 'pullrequest' ? 'pullrequest_comment' : 'commit_comment',
			created_on: c.created_on, updated_on: c.created_on, deleted: false,
			content: { type: 'rendered', raw: c.raw, markup: 'markdown', html: `<p>${c.raw.replace(/[<>&]/g, '')}</p>` },
			user: { type: c.clientKey ? 'app_user' : 'user', display_name: c.clientKey ? 'Simulated App User' : 'Someone' },
			links: { self: { href: `${this.url}/api${p.replace(/\/$/, '')}/${c.id}` } },
			...(kind === 'pullrequest' ? { pullrequest: { type: 'pullrequest', id: Number(c.target) } } :
			    { commit: { type: 'commit', hash: this.fullHash(c.target) } }),
		}));
		const out = { pagelen: len, size: all.length, page, values };
		const link = (n) => {
			const u = new URLSearchParams();
			for (const [k, v] of Object.entries(q)) {
				if (k !== 'page')
					[].concat(v).forEach((x) => u.append(k, x));
			}
			u.set('page', String(n));
			return `${this.url}/api${p}?${u}`;
		};
		if (page * len < all.length)
			out.next = link(page + 1);
		if (page > 1)
			out.previous = link(page - 1);
		return this.send(res, 200, out);
	}

	jiraRest(req, res, entry, p) {
		const v = entry.verification || {};
		let m;
		if ((m = p.match(/^\/rest\/api\/[23]\/issue\/([^/]+)\/comment\/?$/)) && req.method === 'POST') {
			const id = String(10000 + this.store.comments.length + 1);
			this.store.comments.push({ id, kind: 'jira-issue', target: m[1], body: entry.body, clientKey: v.clientKey });
			return this.send(res, 201, { id, body: entry.body && entry.body.body });
		}
		if ((m = p.match(/^\/rest\/api\/[23]\/issue\/([^/]+)\/?$/))) {
			if (req.method === 'GET') {
				return this.send(res, 200, {
					id: '10001', key: decodeURIComponent(m[1]),
					self: `${this.url}${entry.path}`,
					fields: { summary: 'Simulated issue', status: { name: 'In Progress' } },
				});
			}
			if (req.method === 'PUT')
				return this.send(res, 204, null);
		}
		if (req.method === 'POST' && /^\/rest\/api\/[23]\/issue\/?$/.test(p))
			return this.send(res, 201, { id: '10002', key: 'PROJ-2' });
		return this.send(res, 404, { errorMessages: [`sim: no Jira route ${req.method} ${p}`] });
	}

	// ------------------------------------------------------------------------- /_sim/
	simApi(req, res, path, query, raw) {
		let body = {};
		if (raw.length > 0) {
			try { body = JSON.parse(raw.toString('utf8')); } catch (e) {
				return this.send(res, 400, { error: 'JSON body expected' });
			}
		}
		const M = req.method;
		if (path === '/_sim/health')
			return this.send(res, 200, { ok: true, url: this.url, pid: process.pid });
		if (path === '/_sim/requests' && M === 'GET') {
			let list = this.requests;
			if (query.path)
				list = list.filter((e) => new RegExp(query.path).test(e.url));
			if (query.method)
				list = list.filter((e) => e.method === String(query.method).toUpperCase());
			if (query.route)
				list = list.filter((e) => e.route === query.route);
			if (query.since)
				list = list.filter((e) => e.seq > Number(query.since));
			return this.send(res, 200, list);
		}
		if (path === '/_sim/stats' && M === 'GET') {
			return this.send(res, 200, {
				requests: this.requests.length,
				keyFetches: this.keyFetches,
				tokensIssued: this.tokens.size,
				verified: this.requests.filter((e) => e.verification && e.verification.ok).length,
				rejected: this.requests.filter((e) => e.verification && !e.verification.ok).length,
			});
		}
		if (path === '/_sim/tokens' && M === 'GET') {
			// every access token issued and not forgotten: tests look for them where they must not be
			return this.send(res, 200, [...this.tokens.entries()].map(([token, t]) => ({ token, ...t })));
		}
		if (path === '/_sim/store' && M === 'GET')
			return this.send(res, 200, this.store);
		if (path === '/_sim/reset' && M === 'POST') {
			this.requests = [];
			this.keyFetches = {};
			this.store = { comments: [], statuses: {} };
			if (body.control !== false)
				this.control = defaultControl();
			if (body.tokens)
				this.tokens.clear();
			return this.send(res, 200, { ok: true });
		}
		if (path === '/_sim/control') {
			if (M === 'POST') {
				for (const [k, v] of Object.entries(body)) {
					if (!(k in this.control))
						return this.send(res, 400, { error: `unknown control ${k}` });
					if (k === 'fail') {
						if (!Array.isArray(v))
							return this.send(res, 400, { error: 'fail must be a list' });
						for (const r of v) {
							try { new RegExp(r.path || ''); } catch (e) {
								return this.send(res, 400, { error: `bad regex ${r.path}` });
							}
						}
						this.control.fail = v.map((r) => ({ ...r, used: 0 }));
					} else if (k === 'hold') {
						if (!Array.isArray(v))
							return this.send(res, 400, { error: 'hold must be a list' });
						this.control.hold = v.map((r) => ({ ...r, used: 0 }));
					} else if (k === 'commits') {
						Object.assign(this.control.commits, v);
					} else {
						this.control[k] = v;
					}
				}
			}
			return this.send(res, 200, this.control);
		}
		if (path === '/_sim/keys') {
			if (M === 'POST') {
				const k = this.state.ensureKey(body.kid || null);
				return this.send(res, 201, { kid: k.kid, publicKey: k.publicKey, url: `${this.url}/install-keys/${encodeURIComponent(k.kid)}` });
			}
			return this.send(res, 200, Object.keys(this.state.keys()).map((kid) => ({ kid, fetches: this.keyFetches[kid] || 0 })));
		}
		if (path === '/_sim/tenants') {
			if (M === 'POST') {
				if (!body.clientKey || !body.sharedSecret)
					return this.send(res, 400, { error: 'clientKey and sharedSecret are required' });
				const t = this.state.updateTenant(body.clientKey, (cur) => ({
					product: 'bitbucket', installed: true, ...cur, ...body,
				}));
				return this.send(res, 201, t);
			}
			return this.send(res, 200, this.state.tenants());
		}
		if (path === '/_sim/comments' && M === 'POST') {
			// comments by people (not the app), made now: {kind: "pullrequest"|"commit", workspace, repo, target, raw, count?}
			const n = Number(body.count || 1);
			if (!/^(pullrequest|commit)$/.test(body.kind) || !body.workspace || !body.repo || !body.target ||
			    typeof body.raw !== 'string' || !Number.isInteger(n) || n < 1 || n > 10000)
				return this.send(res, 400, { error: 'kind, workspace, repo, target, raw and count (1..10000) are required' });
			for (let i = 0; i < n; i++) {
				const id = 100000000 + this.store.comments.length + 1;
				this.store.comments.push({ id, kind: body.kind, workspace: body.workspace, repo: body.repo,
				    target: String(body.target), raw: body.raw, clientKey: null, auth: null,
				    created_on: new Date(Date.now() + i).toISOString() });
			}
			return this.send(res, 201, { ok: true, count: n });
		}
		if (path === '/_sim/stop' && M === 'POST') {
			this.send(res, 200, { ok: true });
			setImmediate(() => this.stop().then(() => process.exit(0)));
			return undefined;
		}
		return this.send(res, 404, { error: 'no such /_sim/ endpoint' });
	}
}

async function serve(args) {
	const sim = new Sim({ state: args.state, port: args.port === undefined ? 0 : args.port, appKey: args['app-key'] });
	const info = await sim.start();
	process.stdout.write(JSON.stringify({ port: info.port, url: info.url }) + '\n');
	const bye = () => sim.stop().then(() => process.exit(0));
	process.on('SIGTERM', bye);
	process.on('SIGINT', bye);
	return sim;
}

module.exports = { Sim, serve };
