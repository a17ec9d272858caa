// lib/common.js: what the simulator's server and its driver commands share: the state
// directory (tenants.json, keys.json, sim.json), argument parsing, JWT helpers.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const jwt = require('atlassian-jwt');

// Sample bodies (doc/protocol.md §4-§6; copies of the shared fixtures); SIM_PAYLOADS overrides the dir.
const FIXTURES = process.env.SIM_PAYLOADS || path.resolve(__dirname, '../payloads');
const OAUTH_AUD = 'https://oauth-2-authorization-server.services.atlassian.com';

// ------------------------------------------------------------------------------ arguments
// parseArgs(argv): {_: [positional...], name: value|true}. "--x=y" and "--x y" both work; a
// flag followed by another flag (or nothing) is true.
function parseArgs(argv) {
	const out = { _: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a.startsWith('--')) {
			const eq = a.indexOf('=');
			if (eq > 0) {
				out[a.slice(2, eq)] = a.slice(eq + 1);
			} else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
				out[a.slice(2)] = argv[++i];
			} else {
				out[a.slice(2)] = true;
			}
		} else {
			out._.push(a);
		}
	}
	return out;
}

// ---------------------------------------------------------------------------------- state
function readJson(file, dflt) {
	try {
		return JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		if (e.code === 'ENOENT')
			return dflt;
		throw new Error(`${file}: ${e.message}`);
	}
}

// writeJson: atomic (temp file + rename), so that the server and a driver never see half a file.
function writeJson(file, value) {
	const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
	fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
	fs.renameSync(tmp, file);
}

class State {
	constructor(dir) {
		if (!dir || dir === true)
			throw new Error('--state DIR is required');
		this.dir = path.resolve(dir);
		fs.mkdirSync(this.dir, { recursive: true });
	}
	file(name) { return path.join(this.dir, name); }

	// tenants.json: { clientKey: tenant }
	tenants() { return readJson(this.file('tenants.json'), {}); }
	tenant(clientKey) { return this.tenants()[clientKey] || null; }
	// updateTenant(clientKey, fn): fn(tenant or {}) returns the new record (or mutates it).
	updateTenant(clientKey, fn) {
		const all = this.tenants();
		const cur = all[clientKey] || { clientKey };
		const next = fn(cur) || cur;
		all[clientKey] = next;
		writeJson(this.file('tenants.json'), all);
		return next;
	}

	// keys.json: { kid: {privateKey, publicKey, created} } (PEM)
	keys() { return readJson(this.file('keys.json'), {}); }
	key(kid) { return this.keys()[kid] || null; }
	// ensureKey(kid): the key pair of kid, created when missing. kid defaults to a new UUID.
	ensureKey(kid) {
		const all = this.keys();
		kid = kid || crypto.randomUUID();
		if (!all[kid]) {
			const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
			all[kid] = {
				privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
				publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
				created: new Date().toISOString(),
			};
			writeJson(this.file('keys.json'), all);
		}
		return { kid, ...all[kid] };
	}
	// The kid drivers use for Jira when none is given (made once per state dir).
	defaultKid() {
		const meta = readJson(this.file('meta.json'), {});
		if (!meta.defaultKid) {
			meta.defaultKid = this.ensureKey(null).kid;
			writeJson(this.file('meta.json'), meta);
		}
		return meta.defaultKid;
	}

	// sim.json: {port, url, pid, appKey} of the running server.
	sim() { return readJson(this.file('sim.json'), null); }
	writeSim(info) { writeJson(this.file('sim.json'), info); }
}

// ------------------------------------------------------------------------------------ JWT
const now = () => Math.floor(Date.now() / 1000);

function b64url(buf) {
	return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

// qsh(method, url, baseUrl): atlassian-jwt's query string hash of METHOD url, the path taken
// relative to baseUrl's path.
function qsh(method, url, baseUrl) {
	return jwt.createQueryStringHash(jwt.fromMethodAndUrl(method.toUpperCase(), url), false, baseUrl || '');
}
function canonical(method, url, baseUrl) {
	return jwt.createCanonicalRequest(jwt.fromMethodAndUrl(method.toUpperCase(), url), false, baseUrl || '');
}

// decodeUnverified(token): {header, claims} or throws.
function decodeUnverified(token) {
	const parts = String(token).split('.');
	if (parts.length !== 3)
		throw new Error('not a compact JWS (3 segments)');
	const dec = (s) => JSON.parse(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
	return { header: dec(parts[0]), claims: dec(parts[1]) };
}

// signHS(claims, secret, alg): HS256 (or HS384/HS512) with atlassian-jwt.
function signHS(claims, secret, alg) {
	return jwt.encodeSymmetric(claims, secret, alg || 'HS256');
}
// signRS(claims, privatePem, kid): RS256 with the kid header, with atlassian-jwt.
function signRS(claims, privatePem, kid) {
	return jwt.encodeAsymmetric(claims, privatePem, 'RS256', kid === undefined ? undefined : { kid });
}
// signRaw(header, claims, alg, key): any header (for forgeries): alg none, HS* with any key.
function signRaw(header, claims, alg, key) {
	const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims));
	let sig = '';
	if (alg === 'none')
		sig = '';
	else if (/^HS(256|384|512)$/.test(alg))
		sig = b64url(crypto.createHmac('sha' + alg.slice(2), key).update(input).digest());
	else if (alg === 'RS256')
		sig = b64url(crypto.sign('sha256', Buffer.from(input), key));
	else
		throw new Error(`unsupported alg ${alg}`);
	return input + '.' + sig;
}

function randomSecret() {
	return b64url(crypto.randomBytes(32));
}

// Fixture bodies (doc/protocol.md §4-§6), deep copies.
function fixture(name) {
	return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
}

function stripSlash(u) {
	return String(u).replace(/\/+$/, '');
}

module.exports = {
	parseArgs, readJson, writeJson, State, now, b64url, qsh, canonical, decodeUnverified,
	signHS, signRS, signRaw, randomSecret, fixture, stripSlash, jwt, FIXTURES, OAUTH_AUD,
};
