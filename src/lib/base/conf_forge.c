/* conf_forge.c: the parsers of the Forge settings (issue 15 item 1): app ids and environment types. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "base/conf.h"

static const struct {
	const char *name;
	unsigned bit;
} envs[] = {
	{ "DEVELOPMENT", AC_FORGE_ENV_DEVELOPMENT },
	{ "STAGING", AC_FORGE_ENV_STAGING },
	{ "PRODUCTION", AC_FORGE_ENV_PRODUCTION },
};

#define NENVS (sizeof(envs) / sizeof(envs[0]))

int
ac_conf_is_uuid(const char *p)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)p[i])) {
			return 0;
		}
	}
	return p[36] == '\0';
}

int
ac_conf_is_forge_installation_id(const char *s)
{
	size_t n = sizeof(AC_FORGE_INSTALLATION_ARI_PREFIX) - 1;

	return s && !strncmp(s, AC_FORGE_INSTALLATION_ARI_PREFIX, n) && strlen(s + n) == 36 && ac_conf_is_uuid(s + n);
}

int
ac_conf_forge_app_ari(const char *text, char out[AC_FORGE_APP_ID_MAX])
{
	const size_t plen = sizeof(AC_FORGE_APP_ARI_PREFIX) - 1;
	const char *uuid = text;
	size_t i;

	if (!strncmp(text, AC_FORGE_APP_ARI_PREFIX, plen))
		uuid = text + plen;
	if (!ac_conf_is_uuid(uuid))
		return -1;
	memcpy(out, AC_FORGE_APP_ARI_PREFIX, plen);
	/* Forge writes its ids in lower case; aud is compared exactly */
	for (i = 0; i < 36; i++)
		out[plen + i] = (char)tolower((unsigned char)uuid[i]);
	out[plen + 36] = '\0';
	return 0;
}

unsigned
ac_conf_forge_env_bit(const char *name, size_t n)
{
	size_t i;

	for (i = 0; name && i < NENVS; i++)
		if (strlen(envs[i].name) == n && !memcmp(envs[i].name, name, n))
			return envs[i].bit;
	return 0;
}

const char *
ac_conf_forge_envs_parse(const char *text, unsigned *mask, char list[AC_FORGE_ENVS_MAX])
{
	const char *p = text;
	unsigned m = 0, bit;
	size_t i, o = 0;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if ((bit = ac_conf_forge_env_bit(p, n)) == 0)
			return "must be a comma-separated list of DEVELOPMENT, STAGING and PRODUCTION";
		m |= bit;
		p += n;
	}
	if (m == 0)
		return "must name at least one of DEVELOPMENT, STAGING and PRODUCTION";
	for (i = 0; i < NENVS; i++) {
		size_t n = strlen(envs[i].name);

		if (!(m & envs[i].bit))
			continue;
		if (o)
			list[o++] = ',';
		memcpy(list + o, envs[i].name, n);
		o += n;
	}
	list[o] = '\0';
	*mask = m;
	return NULL;
}
