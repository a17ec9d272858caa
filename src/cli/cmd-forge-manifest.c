/* cmd-forge-manifest.c: `acctl forge manifest`, the Forge manifest of this deployment (issue 15 item 8). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctl.h"
#include "base/buf.h"
#include "base/conf.h"
#include "routes/forge_manifest.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: acctl forge manifest [--product bitbucket|jira] [--template FILE] [--out FILE]\n"
	    "Prints the Forge manifest (manifest.yml) of this deployment: the template\n"
	    "AC_TEMPLATE_DIR/forge/PRODUCT.yml with AC_FORGE_APP_ID, AC_BASE_URL (https),\n"
	    "AC_APP_KEY and AC_APP_NAME filled in. PRODUCT defaults to AC_PRODUCT.\n"
	    "Exit status: 0 written, 2 a setting or the template unusable. See acctl(1).\n");
}

static int
bad_usage(const char *what)
{
	fprintf(stderr, "acctl forge manifest: %s\n", what);
	usage(stderr);
	return 2;
}

static const struct option manifest_opts[] = {
	{ "product", required_argument, NULL, 'p' },
	{ "template", required_argument, NULL, 't' },
	{ "out", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int
acctl_forge_manifest(int argc, char **argv)
{
	const char *product_opt = NULL, *template_opt = NULL, *out_path = NULL;
	char *why = NULL, *path = NULL;
	struct ac_conf conf;
	struct ac_buf text;
	enum ac_product product;
	FILE *f;
	int o, rc = 2, have_conf = 0;

	ac_buf_init(&text, AC_FORGE_MANIFEST_MAX * 2);
	optind = 1;
	while ((o = getopt_long(argc, argv, "p:t:o:h", manifest_opts, NULL)) != -1) {
		switch (o) {
		case 'p': product_opt = optarg; break;
		case 't': template_opt = optarg; break;
		case 'o': out_path = optarg; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: rc = bad_usage("unknown option"); goto out;
		}
	}
	if (optind != argc) {
		rc = bad_usage("manifest takes no arguments");
		goto out;
	}
	if (ac_conf_load_tool(&conf, ".", &why) != AC_OK) {
		fprintf(stderr, "acctl forge manifest: configuration: %s\n", why ? why : "error");
		goto out;
	}
	have_conf = 1;
	product = conf.product;
	if (product_opt && !strcmp(product_opt, "bitbucket")) {
		product = AC_PRODUCT_BITBUCKET;
	} else if (product_opt && !strcmp(product_opt, "jira")) {
		product = AC_PRODUCT_JIRA;
	} else if (product_opt) {
		rc = bad_usage("--product is bitbucket or jira");
		goto out;
	}
	path = template_opt ? strdup(template_opt) : ac_forge_manifest_path(&conf, product);
	if (path == NULL) {
		fprintf(stderr, "acctl forge manifest: out of memory\n");
		goto out;
	}
	/* all of it rendered before --out is touched: a refusal leaves the old file */
	if (ac_forge_manifest_load(path, &conf, &text, &why) != AC_OK) {
		fprintf(stderr, "acctl forge manifest: %s\n", why ? why : "error");
		goto out;
	}
	if (out_path == NULL || !strcmp(out_path, "-")) {
		f = stdout;
	} else if ((f = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "acctl forge manifest: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	if (fwrite(text.data ? text.data : "", 1, text.len, f) != text.len) {
		fprintf(stderr, "acctl forge manifest: writing %s failed\n", out_path ? out_path : "stdout");
		if (f != stdout)
			fclose(f);
		goto out;
	}
	if (f == stdout ? fflush(f) != 0 : fclose(f) != 0) {
		fprintf(stderr, "acctl forge manifest: writing %s: %s\n", out_path ? out_path : "stdout",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	ac_buf_release(&text);
	free(path);
	free(why);
	if (have_conf)
		ac_conf_release(&conf);
	return rc;
}
