#!/usr/bin/env node
// fit-tokens.js: Forge Invocation Tokens signed with `jose` (what Atlassian's reference framework
// verifies them with) over a JWKS of our own, for tests/integration/forge-verify.sh.
//
// usage: node fit-tokens.js OUTDIR NOW APP_ARI
// Writes OUTDIR/jwks.json, OUTDIR/<case>.jwt and OUTDIR/cases.txt: one line per case,
// "<case> <expected code or ok> [extra acctl options]". NOW (epoch seconds) is the time every
// token is made for, so the test runs `acctl forge verify --now NOW` and nothing depends on the
// clock.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

async function main() {
	const [outdir, nowArg, app] = process.argv.slice(2);
	if (!outdir || !nowArg || !app) {
		process.stderr.write('usage: node fit-tokens.js OUTDIR NOW APP_ARI\n');
		process.exit(2);
	}
	const jose = await import('jose');
	const now = Number(nowArg);
	const kid = 'forge/invocation-token/wf-' + crypto.randomUUID();
	const main = await jose.generateKeyPair('RS256', { extractable: true });
	const other = await jose.generateKeyPair('RS256', { extractable: true });
	const ec = await jose.generateKeyPair('ES256', { extractable: true });
	// jose refuses to sign with an RSA key under 2048 bits: node's crypto makes that one
	const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });

	const jwk = async (k, id, extra) => Object.assign(await jose.exportJWK(k), { kid: id }, extra);
	const jwks = { keys: [
		await jwk(main.publicKey, kid, { use: 'sig', alg: 'RS256' }),
		await jwk(ec.publicKey, 'ec-key', { use: 'sig', alg: 'ES256' }),
		Object.assign(small.publicKey.export({ format: 'jwk' }), { kid: 'small-key', alg: 'RS256' }),
	] };
	fs.writeFileSync(path.join(outdir, 'jwks.json'), JSON.stringify(jwks));

	const installation = 'ari:cloud:ecosystem::installation/' + crypto.randomUUID();
	const workspace = '{' + crypto.randomUUID() + '}';
	const claims = (over) => {
		const c = {
			iss: 'forge/invocation-token',
			aud: app,
			iat: now, nbf: now, exp: now + 25,
			jti: crypto.randomUUID(),
			app: {
				id: app,
				installationId: installation,
				apiBaseUrl: 'https://api.bitbucket.org',
				appVersion: '2.1.0',
				environment: { type: 'PRODUCTION', id: crypto.randomUUID() },
				module: { type: 'core:endpoint', key: 'events' },
				installation: { contexts: [{ name: 'bitbucket', apiBaseUrl: 'https://api.bitbucket.org',
				    workspaceId: workspace }] },
			},
		};
		if (over)
			over(c);
		return c;
	};
	const sign = (c, key, header) => new jose.SignJWT(c)
	    .setProtectedHeader(Object.assign({ alg: 'RS256', kid }, header || {})).sign(key);
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

	const cases = [];
	const put = async (name, expect, tok, opts) => {
		fs.writeFileSync(path.join(outdir, name + '.jwt'), await tok);
		cases.push([name, expect, opts || ''].join(' ').trim());
	};

	await put('good', 'ok', sign(claims(), main.privateKey));
	await put('good-aud-array', 'ok', sign(claims((c) => { c.aud = [app, 'another']; }), main.privateKey));
	await put('good-within-leeway', 'ok', sign(claims((c) => { c.exp = now - 3; }), main.privateKey));
	await put('expired', 'fit_expired', sign(claims((c) => { c.iat = c.nbf = now - 120; c.exp = now - 95; }),
	    main.privateKey));
	await put('not-yet-valid', 'fit_not_yet_valid', sign(claims((c) => { c.nbf = now + 60; c.exp = now + 85; }),
	    main.privateKey));
	await put('wrong-aud', 'fit_aud', sign(claims((c) => {
		c.aud = c.app.id = 'ari:cloud:ecosystem::app/' + crypto.randomUUID();
	}), main.privateKey));
	await put('wrong-iss', 'fit_iss', sign(claims((c) => { c.iss = 'forge/something-else'; }), main.privateKey));
	await put('app-id-not-aud', 'fit_app_id', sign(claims((c) => {
		c.app.id = 'ari:cloud:ecosystem::app/' + crypto.randomUUID();
	}), main.privateKey));
	await put('no-installation', 'fit_installation', sign(claims((c) => { delete c.app.installationId; }),
	    main.privateKey));
	await put('wrong-environment', 'fit_environment', sign(claims((c) => {
		c.app.environment.type = 'DEVELOPMENT';
	}), main.privateKey), '--environments STAGING,PRODUCTION');
	await put('unknown-kid', 'fit_kid_unknown', sign(claims(), main.privateKey, { kid: 'forge/invocation-token/wf-unknown' }));
	await put('other-key-known-kid', 'fit_signature', sign(claims(), other.privateKey));
	// alg confusion: HS256 keyed with the JWKS public key (PEM, then the raw modulus), and none
	const pem = crypto.createPublicKey({ key: jwks.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
	await put('hs256-public-pem', 'fit_alg', new jose.SignJWT(claims())
	    .setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(pem)));
	await put('hs256-modulus', 'fit_alg', new jose.SignJWT(claims())
	    .setProtectedHeader({ alg: 'HS256', kid }).sign(Buffer.from(jwks.keys[0].n, 'base64url')));
	await put('alg-none', 'fit_alg', new jose.UnsecuredJWT(claims()).encode());
	// a 1024-bit key in the JWKS is ignored, so its kid is not one we know
	{
		const h = b64({ alg: 'RS256', kid: 'small-key' }), p = b64(claims());
		const s = crypto.sign('sha256', Buffer.from(h + '.' + p), small.privateKey).toString('base64url');
		await put('small-key', 'fit_kid_unknown', h + '.' + p + '.' + s);
	}
	// a good token whose payload is changed after signing
	{
		const [h, , s] = (await sign(claims(), main.privateKey)).split('.');
		const p = b64(claims((c) => { c.app.installationId = 'ari:cloud:ecosystem::installation/' +
		    crypto.randomUUID(); }));
		await put('tampered', 'fit_signature', h + '.' + p + '.' + s);
	}
	await put('escape-in-iss', 'fit_iss', sign(claims((c) => { c.iss = '\u001b[2Jforge'; }), main.privateKey));
	await put('not-a-jws', 'fit_malformed', Promise.resolve('not.a-token'));
	fs.writeFileSync(path.join(outdir, 'cases.txt'), cases.join('\n') + '\n');
}

main().catch((e) => {
	process.stderr.write('fit-tokens.js: ' + (e && e.stack || e) + '\n');
	process.exit(1);
});
