/* trivial.c: the FastCGI responder that benchmarks compare against: answers 204, nothing else. */
#include <fcgiapp.h>
#include <stdlib.h>

int main(void)
{
	FCGX_Request req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return EXIT_FAILURE;
	while (FCGX_Accept_r(&req) >= 0)
		FCGX_PutS("Status: 204 No Content\r\n\r\n", req.out);
	return EXIT_SUCCESS;
}
