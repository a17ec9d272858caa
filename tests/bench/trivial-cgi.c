/* trivial-cgi.c: the plain CGI program that benchmarks under fcgiwrap compare against: reads
 * the request body, as any CGI program must, and answers 204, nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	long left = cl ? strtol(cl, NULL, 10) : 0;
	char buf[8192];
	ssize_t n;

	while (left > 0 && (n = read(0, buf, left < (long)sizeof(buf) ? (size_t)left : sizeof(buf))) > 0)
		left -= n;
	fputs("Status: 204 No Content\r\n\r\n", stdout);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
