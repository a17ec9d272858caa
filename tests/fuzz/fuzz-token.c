/* fuzz-token.c: libFuzzer target over ac_token_parse, ac_token_extract and ac_token_verify. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "auth/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input is a token as sent (no NUL needed). When it parses, it is verified
 * under both policies with fixed keys, with a report, so that every check and
 * every explanation runs on hostile claims. Also fed as an Authorization header
 * and a query string to ac_token_extract.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char secret[] = "fuzz-shared-secret";
	static const char qsh[] = "8a2b4c0f8b3c2e1d0f9e8d7c6b5a49382716051f4e3d2c1b0a99887766554433";
	struct ac_token_policy p;
	struct ac_token_report r;
	struct ac_token t;
	const char *tok, *hint;
	size_t len;
	char *s;

	ac_clock_set(1700000000);
	if (ac_token_parse((const char *)data, size, &t) == AC_OK) {
		memset(&p, 0, sizeof(p));
		p.alg = AC_TOKEN_HS256;
		p.leeway = 60;
		p.iss = "ari:cloud:bitbucket::app/{x}/y";
		p.aud_rule = AC_TOKEN_AUD_OPTIONAL;
		p.aud = p.iss;
		p.app_key = "y";
		p.client_key = p.iss;
		ac_token_report_init(&r);
		(void)ac_token_verify(&t, secret, sizeof(secret) - 1, &p, qsh, &r);
		ac_token_report_release(&r);
		p.outbound = 1;
		p.sub = p.iss;
		p.iss = "y";
		p.allow_context_qsh = 1;
		(void)ac_token_verify(&t, secret, sizeof(secret) - 1, &p, qsh, NULL);
		p.alg = AC_TOKEN_RS256; /* not a PEM: must fail cleanly */
		p.aud_rule = AC_TOKEN_AUD_URL;
		p.aud = "https://app.example.com";
		(void)ac_token_verify(&t, secret, sizeof(secret) - 1, &p, qsh, NULL);
		ac_token_release(&t);
	}
	(void)ac_token_extract(NULL, (const char *)data, size, 1, &tok, &len, &hint);
	s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		(void)ac_token_extract(s, NULL, 0, 0, &tok, &len, &hint);
		free(s);
	}
	return 0;
}
