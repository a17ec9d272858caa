#!/usr/bin/env node
// sim.js: the product simulator (Bitbucket Cloud and Jira Cloud on loopback) for connect-fcgi.
//
//   node tests/sim/sim.js serve --state DIR [--port 0] [--app-key KEY]
//   node tests/sim/sim.js install|uninstall|webhook|page --app URL --state DIR --client-key K ...
//   node tests/sim/sim.js forge --state DIR --app APP_ID [--port 0]   (plays Forge: lib/forge.js)
//
// See README.md next to this file for every option, the control API and the state files.
'use strict';

const { parseArgs } = require('./lib/common');

function usage() {
	process.stderr.write(`usage: sim.js serve --state DIR [--port N] [--app-key KEY]
       sim.js install   --app URL --state DIR --client-key K [--product bitbucket|jira] [options]
       sim.js uninstall --app URL --state DIR --client-key K [options]
       sim.js webhook   --app URL --state DIR --client-key K --event EVENT [options]
       sim.js page      --app URL --state DIR --client-key K [--context-qsh] [options]
       sim.js forge     --state DIR --app APP_ID [--port N]
(see tests/sim/README.md)
`);
	return 2;
}

async function main(argv) {
	const cmd = argv[0];
	const args = parseArgs(argv.slice(1));
	if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help')
		return usage();
	if (cmd === 'serve') {
		if (typeof args.state !== 'string')
			return usage();
		await require('./lib/server').serve(args);
		return null; // keeps running
	}
	if (cmd === 'forge') {
		if (typeof args.state !== 'string' || typeof args.app !== 'string')
			return usage();
		await require('./lib/forge').serve(args);
		return null; // keeps running
	}
	return require('./lib/driver').drive(cmd, args);
}

main(process.argv.slice(2)).then((rc) => {
	if (rc !== null)
		process.exitCode = rc;
}, (e) => {
	process.stderr.write(`sim: ${e && e.stack || e}\n`);
	process.exitCode = 2;
});
