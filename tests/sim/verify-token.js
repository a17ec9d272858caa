// verify-token.js: checks a token signed by `acctl jwt sign` with Atlassian's atlassian-jwt.
//
//   node verify-token.js verify TOKEN SECRET METHOD URL [BASEURL]
//     decodeSymmetric(TOKEN, SECRET, HS256), then compares claims.qsh with
//     createQueryStringHash(fromMethodAndUrl(METHOD, URL), false, BASEURL).
//     Prints {"ok", "claims", "qsh", "expected", "error"} as one JSON line;
//     exit 0 when the signature verifies and the qsh is equal, 1 otherwise.
//   node verify-token.js sign SECRET ISS METHOD URL [BASEURL]
//     prints a token signed by atlassian-jwt (iat now, exp now + 180), for the
//     other direction of the differential test.
'use strict';
const jwt = require('atlassian-jwt');

function verify(token, secret, method, url, baseUrl) {
	const out = { ok: false };
	try {
		const claims = jwt.decodeSymmetric(token, secret, jwt.SymmetricAlgorithm.HS256);
		out.claims = claims;
		out.qsh = claims.qsh;
		out.expected = jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, url), false,
			baseUrl || undefined);
		out.ok = claims.qsh === out.expected;
		if (!out.ok)
			out.error = 'qsh differs';
	} catch (e) {
		out.error = String(e && e.message ? e.message : e);
	}
	process.stdout.write(JSON.stringify(out) + '\n');
	return out.ok ? 0 : 1;
}

function sign(secret, iss, method, url, baseUrl) {
	const now = Math.floor(Date.now() / 1000);
	const claims = {
		iss: iss,
		iat: now,
		exp: now + 180,
		qsh: jwt.createQueryStringHash(jwt.fromMethodAndUrl(method, url), false,
			baseUrl || undefined),
	};
	process.stdout.write(jwt.encodeSymmetric(claims, secret, jwt.SymmetricAlgorithm.HS256) + '\n');
	return 0;
}

const a = process.argv.slice(2);
if (a[0] === 'verify' && (a.length === 5 || a.length === 6))
	process.exitCode = verify(a[1], a[2], a[3], a[4], a[5]);
else if (a[0] === 'sign' && (a.length === 5 || a.length === 6))
	process.exitCode = sign(a[1], a[2], a[3], a[4], a[5]);
else {
	process.stderr.write('usage: verify-token.js verify TOKEN SECRET METHOD URL [BASEURL]\n' +
		'       verify-token.js sign SECRET ISS METHOD URL [BASEURL]\n');
	process.exitCode = 2;
}
