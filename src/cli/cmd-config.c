/* cmd-config.c: `acctl config`, the effective configuration with where it came from. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctl.h"
#include "base/conf.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctl config [--check] [--table]\n"
	    "  prints every setting's effective value (secrets masked),\n"
	    "  read from the environment, then AC_CONFIG or connect-fcgi.conf.\n"
	    "  --check  only validate; exit 1 with the message on a bad value\n"
	    "  --table  print the settings table (variable, default, help)\n");
}

int
acctl_cmd_config(int argc, char **argv)
{
	const struct ac_conf_setting *s;
	struct ac_conf conf;
	char *why = NULL, scratch[2048];
	size_t n, i;
	int check = 0, table = 0, a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--check"))
			check = 1;
		else if (!strcmp(argv[a], "--table"))
			table = 1;
		else if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	s = ac_conf_settings(&n);
	if (table) {
		for (i = 0; i < n; i++)
			printf("%s\t%s\t%s\n", s[i].env, s[i].defval ? s[i].defval : "(required)", s[i].help);
		return 0;
	}
	if (ac_conf_load(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl: configuration: %s\n", why ? why : "error");
		free(why);
		return 1;
	}
	if (!check) {
		if (*conf.source)
			printf("# from the environment, then %s\n", conf.source);
		else
			printf("# from the environment (no config file)\n");
		for (i = 0; i < n; i++)
			printf("%s=%s\n", s[i].env, ac_conf_value(&conf, &s[i], scratch, sizeof(scratch)));
	}
	ac_conf_release(&conf);
	return 0;
}
