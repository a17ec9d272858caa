#!/usr/bin/env node
// gen-requests.js: the requests of tests/integration/qsh-diff.sh, as JSON lines.
//
// usage: gen-requests.js VECTORS.json SEED COUNT
// Each line: {"cat": "vector"|"edge"|"random", "name", "method", "url",
// "baseUrl", "inbound"?, and for vectors "canonical" and "qsh"}.
// "inbound": true marks a raw REQUEST_URI that the C side canonicalises with
// ac_canon_inbound() (context path = baseUrl's path); the npm side reads it as
// a relative URL, which is what an Express app would hash.
//
// Random requests are reproducible from SEED. They avoid the few inputs on
// which Node's url.parse cannot stand for a real request (see below); every
// other difference must be explained by a rule of doc/protocol.md §3.
'use strict';

const fs = require('fs');

const [vectorsPath, seedArg, countArg] = process.argv.slice(2);
if (!vectorsPath) {
	process.stderr.write('usage: gen-requests.js VECTORS.json SEED COUNT\n');
	process.exit(2);
}
const seed = Number(seedArg || 1) >>> 0;
const count = Number(countArg || 3000);

const lines = [];
function emit(o) {
	lines.push(JSON.stringify(o));
}

// ------------------------------------------------------------ vectors
for (const v of JSON.parse(fs.readFileSync(vectorsPath, 'utf8'))) {
	emit({ cat: 'vector', name: v.name, method: v.method, url: v.url, baseUrl: v.baseUrl,
		canonical: v.canonical, qsh: v.qsh });
}

// ------------------------------------------------------------ edge cases
const H = 'https://h.example.com';
const edges = [
	// [name, method, url, baseUrl, inbound]
	['GET&/& from empty url', 'GET', '', ''],
	['GET&/& from /', 'GET', '/', ''],
	['GET&/& from absolute without path', 'get', H, H],
	['empty query', 'GET', '/p?', ''],
	['only separators', 'GET', '/p?&&&', ''],
	['inbound with context path', 'GET', '/ctx/hello?b=2&a=1', H + '/ctx', true],
	['inbound context path is the whole path', 'POST', '/ctx/', H + '/ctx', true],
	['inbound context is a plain prefix', 'GET', '/ctxother/x', H + '/ctx', true],
	['inbound context is case-sensitive', 'GET', '/CTX/x', H + '/ctx', true],
	['outbound absolute with context', 'GET', H + '/wiki/rest/api/space?limit=25', H + '/wiki'],
	['outbound relative with context', 'GET', '/wiki/rest/api/space?limit=25', H + '/wiki'],
	['outbound relative without context', 'GET', '/rest/api/space', H + '/wiki'],
	['outbound relative without slash', 'GET', 'rest/api/3/myself?expand=groups', ''],
	['outbound with port and user info', 'PUT', 'https://u:p@h.example.com:8443/2.0/x?y=1', H],
	['fragment removed', 'GET', '/p?a=1#frag', ''],
	['fragment before query', 'GET', '/p#f?x=1', ''],
	['& in path is %26', 'GET', '/rest/api/2/project&a=b?x=y', ''],
	['& in path, inbound', 'GET', '/a&b&?q=a%26b', '', true],
	['trailing slash removed once', 'GET', '/a//', ''],
	['double slash alone', 'GET', '//', ''],
	['dot segments and %2f kept', 'GET', '//a/./b/../c%2fd', ''],
	['jwt dropped', 'GET', '/p?jwt=abc&a=1&jwt=2', ''],
	['jwt without =', 'GET', '/p?jwt&a=1', ''],
	['encoded jwt name dropped', 'GET', '/p?%6Awt=x&a=1', ''],
	['JWT Jwt jwt2 kept', 'GET', '/p?JWT=1&Jwt=2&jwt2=3&xjwt=4', ''],
	['repeated keys', 'GET', '/p?a=2&b=1&a=1&a=', ''],
	['no = is empty value', 'GET', '/p?a&a=x&b', ''],
	['split at first =', 'GET', '/p?a==b=c', ''],
	['empty key', 'GET', '/p?b=1&=x&=', ''],
	['same key once decoded', 'GET', '/p?a%20b=2&a+b=1', ''],
	['values by UTF-16', 'GET', '/p?v=%EF%BD%9E&v=%F0%9F%98%80&v=%EE%80%80', ''],
	['raw unicode values by UTF-16', 'GET', '/p?v=\uff5e&v=\u{1f600}&v=\ue000&v=\u00e9', ''],
	['values by string, not number', 'GET', '/p?ids=2&ids=10&ids=1', ''],
	['plus and %2B', 'GET', '/p?title=1+%2B+1&a+b=c+d', ''],
	['reserved characters escaped', 'GET', "/p?s=*'()!,;:@$/?", ''],
	['tilde and lowercase hex', 'GET', '/p?t=%7e~&%c3%a9=1', ''],
	['bad escapes stay literal', 'GET', '/p?x=%zz&y=%4&z=%&w=%%41&%g1=%4g', ''],
	['invalid UTF-8 becomes U+FFFD', 'GET', '/p?a=%FF&b=%C3&c=%E2%82&d=%F0%9F%98&e=%C3x', ''],
	['overlong and surrogate escapes', 'GET', '/p?a=%C0%AF&b=%E0%80%AF&c=%ED%A0%80&d=%F4%90%80%80', ''],
	['NUL via %00', 'GET', '/p?k%00=v%00w', ''],
	['raw NUL in an inbound path', 'GET', '/p\u0000q?k=v', '', true],
	['key order: encoded, not decoded', 'GET', '/p?a=2&%7B=1', ''],
	['key order: raw { and a', 'GET', '/p?a=2&{=1&|=3', ''],
	['key order: punctuation', 'GET', '/p?~=1&a=2&_=3&B=4&0=5&.=6&-=7&!=8&*=9', ''],
	['path characters kept raw', 'GET', "/a'b\"c{d|e}^`<>", ''],
	['space in path', 'GET', '/a b/c', ''],
	['backslash in path', 'GET', H + '/a\\b?x=1', H],
	['backslash at the end of the path', 'GET', '/a\\?x=1', ''],
	['__proto__ key', 'GET', '/p?__proto__=1&a=2', ''],
	['__proto__ with other keys', 'GET', '/p?constructor=1&toString=2&hasOwnProperty=3', ''],
	['long key', 'GET', '/p?' + 'k'.repeat(10000) + '=v', ''],
	['999 parameters', 'GET', '/p?' + Array.from({ length: 999 }, (_, i) => `k${(i * 7919) % 999}=${i}`).join('&'), ''],
	['lower-case method', 'delete', '/p', ''],
];
// An inbound request is also sent outbound, so that the two C entry points are compared.
function emitWithTwin(o) {
	emit(o);
	if (o.inbound && !o.url.includes('\u0000')) {
		const twin = Object.assign({}, o, { name: o.name + ' (outbound twin)' });
		delete twin.inbound;
		emit(twin);
	}
}

for (const [name, method, url, baseUrl, inbound] of edges) {
	const o = { cat: 'edge', name, method, url, baseUrl };
	if (inbound)
		o.inbound = true;
	emitWithTwin(o);
}

// ------------------------------------------------------------ quirks
// Node's querystring falls back to one byte per UTF-16 unit when
// decodeURIComponent fails, so a raw non-ASCII character next to a bad escape
// (é%FF: two U+FFFD) is mangled. Not a rule of doc/protocol.md §3 (no real URI has raw non-ASCII):
// qsh-compare.js reports these as TODO tests, never as failures.
emit({ cat: 'quirk', name: 'raw non-ASCII next to a bad escape', method: 'GET',
	url: '/p?v=\u00e9%FF', baseUrl: '',
	why: 'npm decodes raw non-ASCII byte-wise when a component has invalid UTF-8 escapes' });

// ------------------------------------------------------------ random
// mulberry32: small, seeded, the same on every Node.
let state = seed || 1;
function rnd() {
	state = (state + 0x6D2B79F5) >>> 0;
	let t = state;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];
const chance = (p) => rnd() < p;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'get', 'post', 'Put', 'pAtCh'];
const BASES = ['', H, H + '/', H + '/wiki', H + '/wiki/', H + '/ctx', 'https://api.bitbucket.org'];
const PATH_ATOMS = [
	'a', 'rest', 'api', '2', '2.0', 'issue', 'TEST-1', '-', '.', '..', '_', '~', '!', '$', "'", '(', ')',
	'*', '+', ',', ';', '=', ':', '@', '%2F', '%2f', '%20', '%zz', '%', '&', '{', '}', '|', '\\',
	'^', '`', '"', '<', '>', ' ', '\t', '\u00e9', '\u20ac', '\u{1f600}', '\ue000', '\uff5e', '%7B',
	'wiki', 'ctx', 'x y', 'a&b',
];
const KEYS = [
	'a', 'b', 'A', 'B', 'ab', 'a1', 'a10', 'jwt', 'JWT', 'Jwt', '%6Awt', 'jwt2', '', 'a b', 'a+b',
	'a%20b', '%7B', '{', '|', '~', '-', '.', '_', '!', '*', "'", '(', '%24', '$', '%2B', '+',
	'\u00e9', '%C3%A9', '\u20ac', '\u{1f600}', '\ue000', 'k%00', '%FF', '%zz', '%', 'state', 'ids',
	'__proto__', 'constructor', 'toString', 'x=y', 'limit',
];
const VALUE_ATOMS = [
	'1', '2', '10', 'a', 'Z', ' ', '+', '%20', '%2B', '%2b', ',', '*', '~', '%7E', '!', "'", '(', ')',
	'%zz', '%4', '%', '%%41', '%FF', '%C3', '%C3%A9', '\u00e9', '\u20ac', '\u{1f600}', '\ue000',
	'\uff5e', '%F0%9F%98%80', '%EE%80%80', '%EF%BD%9E', '%ED%A0%80', '%C0%AF', '%00', '=', ':',
	'/', '?', '@', '[', ']', '"', '<', '>', '{', '}', '|', '\\', '^', '`', '.', '-', '_', '\t',
	'OPEN', 'MERGED',
];

// Node's querystring falls back to a byte-per-UTF-16-unit decoder when
// decodeURIComponent fails (a bad escape or invalid UTF-8): raw non-ASCII
// characters in that same component then get mangled. Real URIs carry no raw
// non-ASCII, so escape it in such components; qsh-diff.sh shows the quirk
// once, as a TODO test.
function npmSafeComponent(s) {
	try {
		decodeURIComponent(s.replace(/\+/g, ' '));
		return s;
	} catch (e) {
		return s.replace(/[^\x00-\x7f]+/gu, (m) => encodeURIComponent(m));
	}
}

function randomPath() {
	const parts = [];
	const n = int(5);
	for (let i = 0; i < n; i++) {
		let seg = '';
		const m = 1 + int(3);
		for (let j = 0; j < m; j++)
			seg += pick(PATH_ATOMS);
		parts.push(seg);
	}
	let p = parts.join(pick(['/', '/', '/', '//']));
	if (chance(0.8))
		p = '/' + p;
	if (chance(0.2))
		p += '/';
	return p;
}

function randomQuery() {
	const pieces = [];
	const n = int(9);
	for (let i = 0; i < n; i++) {
		let piece = pick(KEYS) + (chance(0.2) ? pick(KEYS) : '');
		if (chance(0.85)) {
			piece += '=';
			const m = int(4);
			for (let j = 0; j < m; j++)
				piece += pick(VALUE_ATOMS);
		}
		// a key may hold '=': the components are what the first '=' splits
		const eq = piece.indexOf('=');
		pieces.push(eq < 0 ? npmSafeComponent(piece) :
			npmSafeComponent(piece.slice(0, eq)) + '=' + npmSafeComponent(piece.slice(eq + 1)));
		if (chance(0.05))
			pieces.push('');
	}
	return pieces.join('&');
}

// Node's url.parse trims surrounding whitespace (a real URI has none) and
// reads "word:" at the start of a relative URL as a scheme.
function npmSafeUrl(u) {
	const ws = (c) => c < 33 || c === 0xa0 || c === 0xfeff;
	if (u.length > 0 && ws(u.charCodeAt(u.length - 1)))
		u += 'z';
	if ((u.length > 0 && ws(u.charCodeAt(0))) || /^[a-z0-9.+-]+:/i.test(u))
		u = '/' + u;
	// A URL starting with a slash and a backslash, then "x@y", is "//x@y" to
	// url.parse once the backslash is '/': an authority, not a path. That is
	// the npm-backslash rule too, but qsh-compare.js models it on the path
	// only, so keep a backslash out of the first two characters.
	if (/^[/\\]{2}/.test(u) && u.slice(0, 2) !== '//')
		u = '/a' + u;
	return u;
}

for (let i = 0; i < count; i++) {
	const method = pick(METHODS);
	const baseUrl = pick(BASES);
	const origin = baseUrl.startsWith('https://') ? baseUrl.replace(/^(https:\/\/[^/]+).*$/, '$1') : H;
	const ctx = baseUrl.replace(/^https:\/\/[^/]+/, '');
	let path = randomPath();
	if (ctx && chance(0.5))
		path = ctx.replace(/\/$/, '') + (path.startsWith('/') ? '' : '/') + path;
	let url = path;
	if (chance(0.85))
		url += '?' + randomQuery();
	if (chance(0.05))
		url += '#' + pick(['', 'frag', 'f?x=1', 'a&b']);
	const inbound = url.startsWith('/') && chance(0.3);
	if (!inbound && chance(0.5))
		url = origin + (url.startsWith('/') || url.startsWith('?') || url.startsWith('#') ? '' : '/') + url;
	const o = { cat: 'random', name: `random ${i}`, method, url: npmSafeUrl(url), baseUrl };
	if (inbound)
		o.inbound = true;
	emitWithTwin(o);
}

process.stdout.write(lines.join('\n') + '\n');
