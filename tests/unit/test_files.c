/* Unit tests of shared/files: a file read whole and NUL-terminated, an empty one, a missing one
 * named in the error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "files.h"

static void test_read_whole(void **state)
{
	char path[] = "/tmp/test_files.XXXXXX", err[256];
	size_t len = 0;
	(void)state;

	int fd = mkstemp(path);
	assert_true(fd >= 0);
	/* Bigger than the first buffer, with a NUL inside: length counts bytes, not strlen. */
	size_t n = 200000;
	char *want = malloc(n);
	for (size_t i = 0; i < n; i++)
		want[i] = (char)(i % 251);
	assert_int_equal(write(fd, want, n), (ssize_t)n);
	close(fd);
	char *got = file_read(path, &len, err, sizeof(err));
	assert_non_null(got);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	assert_int_equal(got[n], '\0');
	free(got);

	fd = open(path, O_TRUNC | O_WRONLY);
	close(fd);
	got = file_read(path, &len, err, sizeof(err));
	assert_non_null(got);
	assert_int_equal(len, 0);
	assert_string_equal(got, "");
	free(got);
	unlink(path);
	free(want);
}

static void test_missing_named(void **state)
{
	char err[256];
	size_t len = 7;
	(void)state;
	assert_null(file_read("/nonexistent/dir/x.model", &len, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/x.model: cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_read_whole),
	        cmocka_unit_test(test_missing_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
