/* fit.c: Forge Invocation Tokens: Bearer only, RS256 pinned, key by kid, the claims of doc/protocol.md §11. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "auth/fit.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"

/*
 * The structure, base64url and JSON of a FIT are token.c's (ac_token_parse):
 * one parser for every JWT. What differs from a Connect token is the trust:
 * the key is Atlassian's, chosen by kid from a JWKS, and the algorithm is
 * always RS256, whatever the header says, so an HS256 token "signed" with the
 * public key or an unsigned one never reaches a key.
 */

/* ---------------------------------------------------------------- report */

struct check {
	struct ac_token_report *report;
	enum ac_err first;
};

static void problem(struct check *c, enum ac_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct check *c, enum ac_err err, const char *fmt, ...)
{
	struct ac_token_report *r = c->report;
	struct ac_buf b;
	va_list ap;
	char *text = NULL;

	if (c->first == AC_OK)
		c->first = err;
	if (r == NULL)
		return;
	if (r->n == r->alloc) {
		size_t na = r->alloc ? r->alloc * 2 : 8;
		struct ac_token_problem *v = realloc(r->v, na * sizeof(*v));

		if (v == NULL)
			return;
		r->v = v;
		r->alloc = na;
	}
	ac_buf_init(&b, 16 * 1024);
	va_start(ap, fmt);
	if (ac_buf_vprintf(&b, fmt, ap) != AC_OK || ac_buf_detach(&b, &text, NULL) != AC_OK)
		text = NULL;
	va_end(ap);
	ac_buf_release(&b);
	if (text == NULL)
		return;
	r->v[r->n].err = err;
	r->v[r->n].text = text;
	r->n++;
}

/* ---------------------------------------------------------------- extract, parse */

enum ac_err
ac_fit_extract(const char *authorization, const char **tok, size_t *len)
{
	const char *p;
	size_t n;

	if (authorization == NULL || *authorization == '\0')
		return AC_ERR_FIT_MISSING;
	if (strncmp(authorization, "Bearer ", 7) != 0)
		return AC_ERR_FIT_SCHEME;
	p = authorization + 7;
	n = strlen(p);
	/* one token, nothing around it: a second space or a comma means a list or a typo */
	if (n == 0 || strcspn(p, " \t\r\n,") != n)
		return AC_ERR_FIT_SCHEME;
	*tok = p;
	*len = n;
	return AC_OK;
}

/*
 * "alg":"none" tokens end with an empty signature, which ac_token_parse()
 * refuses as malformed. Parsed with a stand-in signature that is dropped
 * again, such a token reaches check_alg() and is refused as fit_alg with the
 * reason; an RS256 header with no signature stays fit_malformed.
 */
static enum ac_err
parse_unsigned(const char *tok, size_t len, struct ac_token *t)
{
	struct ac_token u;
	char *copy;
	enum ac_err err;

	if (len < 2 || len > AC_TOKEN_MAX - 2 || tok[len - 1] != '.')
		return AC_ERR_FIT_MALFORMED;
	if ((copy = malloc(len + 2)) == NULL)
		return AC_ERR_NOMEM;
	memcpy(copy, tok, len);
	memcpy(copy + len, "AA", 2);
	err = ac_token_parse(copy, len + 2, &u);
	free(copy);
	if (err != AC_OK)
		return err == AC_ERR_NOMEM ? err : AC_ERR_FIT_MALFORMED;
	if (u.alg == AC_TOKEN_RS256) {
		ac_token_release(&u);
		return AC_ERR_FIT_MALFORMED;
	}
	free(u.sig);
	u.sig = NULL;
	u.sig_len = 0;
	*t = u;
	return AC_OK;
}

enum ac_err
ac_fit_parse(const char *tok, size_t len, struct ac_token *t)
{
	enum ac_err err = ac_token_parse(tok, len, t);

	if (err == AC_ERR_NOMEM || err == AC_OK)
		return err;
	return parse_unsigned(tok, len, t);
}

/* ---------------------------------------------------------------- claims */

static int
is_installation_ari(const char *s)
{
	size_t plen = sizeof(AC_FIT_INSTALLATION_PREFIX) - 1;

	return s && !strncmp(s, AC_FIT_INSTALLATION_PREFIX, plen) && strlen(s + plen) == 36 &&
	    ac_conf_is_uuid(s + plen);
}

static json_object *
app_of(const struct ac_token *t)
{
	return ac_json_get_typed(t->claims, "app", json_type_object);
}

static const char *
env_type_of(const struct ac_token *t)
{
	json_object *app = app_of(t), *env;

	if (app == NULL || (env = ac_json_get_typed(app, "environment", json_type_object)) == NULL)
		return NULL;
	return ac_json_get_string(env, "type");
}

static int
aud_has(const struct ac_token *t, const char *s)
{
	size_t i;

	for (i = 0; s && i < t->naud; i++)
		if (!strcmp(t->aud[i], s))
			return 1;
	return 0;
}

static void
check_alg(const struct ac_token *t, struct check *c)
{
	if (t->alg == AC_TOKEN_RS256 && !strcmp(t->alg_name, "RS256"))
		return;
	if (!strcasecmp(t->alg_name, "none"))
		problem(c, AC_ERR_FIT_ALG, "alg is \"%s\": unsigned tokens are never accepted; "
		    "Forge signs every invocation with RS256", t->alg_name);
	else if (!strncmp(t->alg_name, "HS", 2))
		problem(c, AC_ERR_FIT_ALG, "alg is \"%s\" but Forge Invocation Tokens are RS256: "
		    "an HMAC checked with the JWKS public key as its secret would let anyone who "
		    "can download that key sign; no key was used", t->alg_name);
	else
		problem(c, AC_ERR_FIT_ALG, "alg is \"%s\" but Forge Invocation Tokens are RS256 "
		    "only; no key was used", t->alg_name);
}

static void
check_iss_aud(const struct ac_token *t, const struct ac_fit_policy *p, struct check *c)
{
	const char *want = p->app_id && *p->app_id ? p->app_id : NULL;
	size_t i;

	if (t->iss == NULL)
		problem(c, AC_ERR_FIT_ISS, "iss is missing: Forge sets it to \"%s\"", AC_FIT_ISS);
	else if (strcmp(t->iss, AC_FIT_ISS) != 0)
		problem(c, AC_ERR_FIT_ISS, "iss is \"%s\", not \"%s\": %s", t->iss, AC_FIT_ISS,
		    t->qsh ? "this looks like a Connect JWT (it has a qsh); Connect tokens go to the "
		    "Connect routes with 'Authorization: JWT'" :
		    "this is not a Forge Invocation Token");
	if (t->naud == 0) {
		problem(c, AC_ERR_FIT_AUD, "aud is missing: a FIT names the app it is for "
		    "(ari:cloud:ecosystem::app/<uuid>)%s%s%s", want ? "; expected \"" : "",
		    want ? want : "", want ? "\"" : "");
		return;
	}
	if (want == NULL) {
		problem(c, AC_ERR_FIT_AUD, "no app id to check aud against: set AC_FORGE_APP_ID "
		    "(acctl: --app-id); the token's aud is \"%s\"", t->aud[0]);
		return;
	}
	if (aud_has(t, want))
		return;
	for (i = 0; i < t->naud; i++)
		if (!strcasecmp(t->aud[i], want) ||
		    (strlen(want) > 36 && !strcasecmp(t->aud[i], want + strlen(want) - 36)))
			break;
	problem(c, AC_ERR_FIT_AUD, "aud is %s\"%s\"%s but the app id expected is \"%s\"%s",
	    t->aud_is_array ? "[" : "", t->aud[0], t->aud_is_array && t->naud > 1 ? ", ...]" :
	    t->aud_is_array ? "]" : "", want,
	    i < t->naud ? ": the same uuid written differently; the token's aud must be the "
	    "ARI exactly" : ".\nThe token was made for another Forge app; the app id is the same "
	    "in every environment (manifest.yml app.id, `forge settings` / the developer console)");
}

static void
check_times(const struct ac_token *t, const struct ac_fit_policy *p, struct check *c)
{
	char d1[64], d2[64];
	int64_t now = p->now;
	int64_t leeway = p->leeway <= 0 ? 0 : p->leeway < 60 ? p->leeway : 60;

	if (!t->has_exp)
		problem(c, AC_ERR_FIT_EXPIRED, "exp is missing: every FIT expires (it lives about 25 s)");
	else if (t->exp <= now - leeway)
		/* RFC 7519 §4.1.4: reject on or after exp, with AC_FORGE_LEEWAY */
		problem(c, AC_ERR_FIT_EXPIRED,
		    "expired %" PRId64 " s ago: exp %s, now %s, leeway %" PRId64 " s.\n"
		    "A FIT lives about 25 s: it is checked when the request arrives and never kept; "
		    "if it was made just now, our clock is ahead of Atlassian's (check NTP)",
		    now - t->exp, ac_clock_iso8601(t->exp, d1, sizeof(d1)), ac_clock_iso8601(now, d2, sizeof(d2)), leeway);
	if (t->has_nbf && t->nbf > now + leeway)
		problem(c, AC_ERR_FIT_NOT_YET_VALID,
		    "nbf is %" PRId64 " s in the future: nbf %s, now %s, leeway %" PRId64 " s.\n"
		    "Our clock is behind Atlassian's by at least %" PRId64 " s beyond the leeway; check NTP",
		    t->nbf - now, ac_clock_iso8601(t->nbf, d1, sizeof(d1)), ac_clock_iso8601(now, d2, sizeof(d2)), leeway,
		    t->nbf - now - leeway);
	if (t->has_iat && t->iat > now + leeway)
		problem(c, AC_ERR_FIT_NOT_YET_VALID,
		    "iat is %" PRId64 " s in the future: iat %s, now %s, leeway %" PRId64 " s.\n"
		    "Our clock is behind Atlassian's by at least %" PRId64 " s beyond the leeway; check NTP",
		    t->iat - now, ac_clock_iso8601(t->iat, d1, sizeof(d1)), ac_clock_iso8601(now, d2, sizeof(d2)), leeway,
		    t->iat - now - leeway);
}

static void
env_names(unsigned mask, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s%s%s%s", mask & AC_FORGE_ENV_DEVELOPMENT ? "DEVELOPMENT" : "",
	    (mask & AC_FORGE_ENV_DEVELOPMENT) && (mask & 6u) ? "," : "",
	    mask & AC_FORGE_ENV_STAGING ? "STAGING" : "",
	    (mask & AC_FORGE_ENV_STAGING) && (mask & AC_FORGE_ENV_PRODUCTION) ? "," : "",
	    mask & AC_FORGE_ENV_PRODUCTION ? "PRODUCTION" : "");
	if (*out == '\0')
		snprintf(out, outsz, "none");
}

static void
check_app(const struct ac_token *t, const struct ac_fit_policy *p, struct check *c)
{
	json_object *app = app_of(t), *env;
	const char *id, *inst, *type, *envid;
	char names[64];

	if (app == NULL) {
		problem(c, AC_ERR_FIT_APP_ID, "the claim \"app\" is missing or not an object: a FIT "
		    "carries app.id, app.installationId and app.environment");
		problem(c, AC_ERR_FIT_INSTALLATION, "app.installationId is missing (no \"app\")");
		problem(c, AC_ERR_FIT_ENVIRONMENT, "app.environment is missing (no \"app\")");
		return;
	}
	if ((id = ac_json_get_string(app, "id")) == NULL)
		problem(c, AC_ERR_FIT_APP_ID, "app.id is missing or not a string: Forge sets it to aud");
	else if (!aud_has(t, id))
		problem(c, AC_ERR_FIT_APP_ID, "app.id is \"%s\" but aud is %s\"%s\"%s: they must be "
		    "the same app", id, t->aud_is_array ? "[" : "", t->naud ? t->aud[0] : "",
		    t->aud_is_array ? (t->naud > 1 ? ", ...]" : "]") : "");
	inst = ac_json_get_string(app, "installationId");
	if (inst == NULL)
		problem(c, AC_ERR_FIT_INSTALLATION, "app.installationId is missing or not a string: "
		    "every invocation names its installation (" AC_FIT_INSTALLATION_PREFIX "<uuid>)");
	else if (!is_installation_ari(inst))
		problem(c, AC_ERR_FIT_INSTALLATION, "app.installationId is \"%.80s\", not "
		    AC_FIT_INSTALLATION_PREFIX "<uuid>", inst);
	env_names(p->environments, names, sizeof(names));
	env = ac_json_get_typed(app, "environment", json_type_object);
	type = env ? ac_json_get_string(env, "type") : NULL;
	envid = env ? ac_json_get_string(env, "id") : NULL;
	if (type == NULL)
		problem(c, AC_ERR_FIT_ENVIRONMENT, "app.environment.type is missing or not a string "
		    "(DEVELOPMENT, STAGING or PRODUCTION); accepted here: %s", names);
	else if (!(ac_conf_forge_env_bit(type, strlen(type)) & p->environments))
		problem(c, AC_ERR_FIT_ENVIRONMENT, "the invocation came from the %s environment%s%s%s, "
		    "which is not accepted here (AC_FORGE_ENVIRONMENTS: %s)%s", type,
		    envid ? " (id " : "", envid ? envid : "", envid ? ")" : "", names,
		    ac_conf_forge_env_bit(type, strlen(type)) ? "" :
		    "; Forge knows only DEVELOPMENT, STAGING and PRODUCTION");
}

enum ac_err
ac_fit_check_claims(const struct ac_token *t, const struct ac_fit_policy *p,
    struct ac_token_report *report)
{
	struct check c = { report, AC_OK };

	check_alg(t, &c);
	check_iss_aud(t, p, &c);
	check_times(t, p, &c);
	check_app(t, p, &c);
	return c.first;
}

/* ---------------------------------------------------------------- signature */

/* 1 valid, 0 invalid, -1 could not be computed. */
static int
verify_rs256(const struct ac_token *t, EVP_PKEY *pk)
{
	EVP_MD_CTX *ctx;
	int ok = -1;

	/* RFC 7518 §3.3: the signature is exactly the modulus length */
	if ((int)t->sig_len != EVP_PKEY_get_size(pk))
		return 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1)
		ok = EVP_DigestVerify(ctx, t->sig, t->sig_len, (const unsigned char *)t->signing_input,
		    t->signing_input_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void
check_key_and_signature(const struct ac_token *t, const struct ac_jwks *set, struct check *c)
{
	const struct ac_jwks_key *k;
	struct ac_buf kids;
	const char *ignored;
	size_t i;
	int ok;

	if (t->kid == NULL || *t->kid == '\0') {
		problem(c, AC_ERR_FIT_KID_UNKNOWN, "the header has no kid: Forge names the signing key "
		    "of every token, and keys are only ever chosen by kid");
		return;
	}
	if ((k = ac_jwks_find(set, t->kid)) == NULL) {
		ac_buf_init(&kids, 4096);
		for (i = 0; set && i < set->n; i++)
			if (ac_buf_printf(&kids, "%s\"%s\"", i ? ", " : "", set->keys[i].kid) != AC_OK)
				break;
		ignored = ac_jwks_ignored_why(set, t->kid);
		if (ignored)
			problem(c, AC_ERR_FIT_KID_UNKNOWN, "kid \"%.200s\" is in the JWKS but its key was "
			    "ignored: %s; usable kids: %s", t->kid, ignored,
			    kids.len ? ac_buf_str(&kids) : "none");
		else
			problem(c, AC_ERR_FIT_KID_UNKNOWN, "kid \"%.200s\" is not in the JWKS (%zu usable "
			    "key%s: %s).\nForge rotates its keys: fetch the JWKS again; a kid still "
			    "unknown after that is not Atlassian's", t->kid, set ? set->n : 0,
			    set && set->n == 1 ? "" : "s", kids.len ? ac_buf_str(&kids) : "none");
		ac_buf_release(&kids);
		return;
	}
	ok = verify_rs256(t, k->pkey);
	if (ok == 0)
		problem(c, AC_ERR_FIT_SIGNATURE, "the RS256 signature does not verify with the JWKS "
		    "key of kid \"%.200s\" (%d-bit RSA): the token was signed by another key or "
		    "changed after signing", t->kid, k->bits);
	else if (ok < 0)
		problem(c, AC_ERR_FIT_SIGNATURE, "the RS256 signature could not be computed with the key "
		    "of kid \"%.200s\"", t->kid);
}

/* ---------------------------------------------------------------- output */

static int
dup_opt(json_object *o, const char *name, char **out)
{
	const char *s = o ? ac_json_get_string(o, name) : NULL;

	*out = NULL;
	return s && (*out = strdup(s)) == NULL ? -1 : 0;
}

static enum ac_err
fill(const struct ac_token *t, const struct ac_fit_policy *p, struct ac_fit *f)
{
	json_object *app = app_of(t), *env, *inst, *ctxs, *module, *ctx;
	size_t i, n;

	(void)p;
	memset(f, 0, sizeof(*f));
	env = ac_json_get_typed(app, "environment", json_type_object);
	inst = ac_json_get_typed(app, "installation", json_type_object);
	module = ac_json_get_typed(app, "module", json_type_object);
	ctx = ac_json_get_typed(t->claims, "context", json_type_object);
	f->exp = t->exp;
	f->environment = ac_conf_forge_env_bit(env_type_of(t), strlen(env_type_of(t)));
	if ((f->kid = strdup(t->kid)) == NULL ||
	    dup_opt(t->claims, "jti", &f->jti) || dup_opt(app, "id", &f->app_id) ||
	    dup_opt(app, "installationId", &f->installation_id) ||
	    dup_opt(app, "appVersion", &f->app_version) ||
	    (f->app_version == NULL && dup_opt(app, "version", &f->app_version)) ||
	    dup_opt(env, "type", &f->environment_type) || dup_opt(env, "id", &f->environment_id) ||
	    dup_opt(app, "apiBaseUrl", &f->api_base_url) ||
	    dup_opt(module, "type", &f->module_type) || dup_opt(module, "key", &f->module_key) ||
	    dup_opt(t->claims, "principal", &f->principal) ||
	    dup_opt(ctx, "cloudId", &f->context_cloud_id) ||
	    dup_opt(ctx, "workspaceId", &f->context_workspace_id) ||
	    dup_opt(ctx, "siteUrl", &f->site_url))
		goto nomem;
	ctxs = inst ? ac_json_get_typed(inst, "contexts", json_type_array) : NULL;
	n = ctxs ? json_object_array_length(ctxs) : 0;
	if (n > AC_FIT_CONTEXTS_MAX)
		n = AC_FIT_CONTEXTS_MAX;
	if (n && (f->contexts = calloc(n, sizeof(*f->contexts))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(ctxs, i);
		struct ac_fit_context *fc = &f->contexts[f->ncontexts];

		if (!json_object_is_type(e, json_type_object))
			continue;
		f->ncontexts++;
		if (dup_opt(e, "name", &fc->name) || dup_opt(e, "apiBaseUrl", &fc->api_base_url) ||
		    dup_opt(e, "cloudId", &fc->cloud_id) || dup_opt(e, "workspaceId", &fc->workspace_id))
			goto nomem;
	}
	return AC_OK;
nomem:
	ac_fit_release(f);
	return AC_ERR_NOMEM;
}

void
ac_fit_release(struct ac_fit *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; f->contexts && i < f->ncontexts; i++) {
		free(f->contexts[i].name);
		free(f->contexts[i].api_base_url);
		free(f->contexts[i].cloud_id);
		free(f->contexts[i].workspace_id);
	}
	free(f->contexts);
	free(f->kid);
	free(f->jti);
	free(f->app_id);
	free(f->installation_id);
	free(f->app_version);
	free(f->environment_type);
	free(f->environment_id);
	free(f->api_base_url);
	free(f->module_type);
	free(f->module_key);
	free(f->principal);
	free(f->context_cloud_id);
	free(f->context_workspace_id);
	free(f->site_url);
	memset(f, 0, sizeof(*f));
}

/* ---------------------------------------------------------------- verify */

enum ac_err
ac_fit_verify(const struct ac_token *t, const struct ac_jwks *set, const struct ac_fit_policy *p,
    struct ac_fit *out, struct ac_token_report *report)
{
	struct check c = { report, AC_OK };
	struct check claims = { report, AC_OK };

	/* The algorithm first: a token that does not name RS256 never meets a key. */
	check_alg(t, &c);
	if (c.first == AC_OK)
		check_key_and_signature(t, set, &c);
	/* the claim checks again report alg; only once in the report */
	check_iss_aud(t, p, &claims);
	check_times(t, p, &claims);
	check_app(t, p, &claims);
	if (c.first == AC_OK)
		c.first = claims.first;
	if (c.first != AC_OK)
		return c.first;
	return out ? fill(t, p, out) : AC_OK;
}

enum ac_err
ac_fit_verify_header(const char *authorization, const struct ac_jwks *set,
    const struct ac_fit_policy *p, struct ac_fit *out, int *refetch)
{
	struct ac_token t;
	struct check c = { NULL, AC_OK };
	const char *tok;
	size_t len;
	enum ac_err err;

	*refetch = 0;
	if ((err = ac_fit_extract(authorization, &tok, &len)) != AC_OK)
		return err;
	if ((err = ac_fit_parse(tok, len, &t)) != AC_OK)
		return err;
	check_alg(&t, &c);
	if (c.first != AC_OK) {
		err = c.first;
	} else if (t.kid != NULL && *t.kid != '\0' && ac_jwks_find(set, t.kid) == NULL) {
		err = ac_fit_check_claims(&t, p, NULL);
		if (err == AC_OK) {
			err = AC_ERR_FIT_KID_UNKNOWN;
			*refetch = 1;
		}
	} else {
		err = ac_fit_verify(&t, set, p, out, NULL);
	}
	ac_token_release(&t);
	return err;
}
