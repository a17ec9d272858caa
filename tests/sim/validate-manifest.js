#!/usr/bin/env node
// validate-manifest.js: a Forge manifest checked by Atlassian's own schema and validators, the npm
// package `@forge/manifest` (what `forge lint` and `forge deploy` run), for
// tests/integration/forge-manifest.sh.
//
// usage: node validate-manifest.js FILE [--dump]
// Prints one line per problem, "LEVEL LINE:COLUMN MESSAGE", and exits 0 when the manifest is valid
// with no problem at all (not even a warning), 1 otherwise, 2 when the validator cannot run.
// --dump also prints the manifest as the validator parsed it, one JSON line prefixed "manifest ",
// so the test checks what the YAML means rather than how it is written.
//
// validate(false, path) runs the full validation of the manifest at path; the file may have any
// name (without a path it looks for ./manifest.yml) and a missing file is an error, not a throw.
'use strict';

const path = require('path');

async function main() {
	const args = process.argv.slice(2);
	const dump = args.includes('--dump');
	const files = args.filter((a) => a !== '--dump');
	if (files.length !== 1) {
		process.stderr.write('usage: node validate-manifest.js FILE [--dump]\n');
		process.exit(2);
	}
	const { validate } = require('@forge/manifest');
	const result = await validate(false, path.resolve(files[0]));
	const problems = result.errors || [];
	for (const e of problems)
		process.stdout.write(`${e.level || 'error'} ${e.line ?? 0}:${e.column ?? 0} ${e.message}\n`);
	if (dump && result.manifestObject && result.manifestObject.yamlContent)
		process.stdout.write('manifest ' + JSON.stringify(result.manifestObject.yamlContent) + '\n');
	process.exit(result.success === true && problems.length === 0 ? 0 : 1);
}

main().catch((e) => {
	process.stderr.write(`validate-manifest.js: ${e && e.stack ? e.stack : e}\n`);
	process.exit(2);
});
