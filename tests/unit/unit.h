/* unit.h: the common main of the Check unit tests; every test prints TAP. */
#ifndef AC_UNIT_H
#define AC_UNIT_H

#include <check.h>
#include <stdlib.h>

/*
 * AC_UNIT_MAIN(make_suite): runs the suite with TAP on stdout, so that the
 * automake TAP driver counts each test case. No fork by default, so that
 * valgrind and the sanitizers see one process; CK_FORK=yes overrides.
 */
#define AC_UNIT_MAIN(make_suite)                                         \
	int main(void)                                                   \
	{                                                                \
		SRunner *sr = srunner_create(make_suite());              \
		int failed;                                              \
		if (getenv("CK_FORK") == NULL)                           \
			srunner_set_fork_status(sr, CK_NOFORK);          \
		srunner_set_tap(sr, "-");                                \
		srunner_run_all(sr, CK_SILENT);                          \
		failed = srunner_ntests_failed(sr);                      \
		srunner_free(sr);                                        \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;             \
	}

#endif
