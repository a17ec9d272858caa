/*
 * echo.c: a test-only responder that reports what the web server handed it, so that the
 * integration tests can prove the shipped nginx configs pass the Authorization header, the raw
 * path, the body and AC_CONFIG through. fcgi_stdio's FCGI_Accept serves FastCGI when fd 0 is a
 * listening socket (spawn-fcgi) and exactly one CGI request otherwise (fcgiwrap). Never install
 * it: it echoes credentials.
 */
#include <fcgi_stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const names[] = {
	"REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "QUERY_STRING", "CONTENT_TYPE",
	"CONTENT_LENGTH", "HTTP_AUTHORIZATION", "HTTP_PROXY", "AC_CONFIG",
};

/* Prints s as the inside of a JSON string: quotes, backslashes and control bytes escaped. */
static void put_json(const char *s)
{
	for (; *s != '\0'; s++) {
		int c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", (unsigned)c);
		else
			putchar(c);
	}
}

int main(void)
{
	while (FCGI_Accept() >= 0) {
		char chunk[8192];
		long body = 0;
		size_t n, i;

		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
			body += (long)n;
		printf("Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{");
		for (i = 0; i < sizeof names / sizeof names[0]; i++) {
			const char *v = getenv(names[i]);
			if (v == NULL)
				continue;
			printf("\"%s\":\"", names[i]);
			put_json(v);
			printf("\",");
		}
		printf("\"body_bytes\":%ld,\"pid\":%ld}\n", body, (long)getpid());
	}
	return EXIT_SUCCESS;
}
