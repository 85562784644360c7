/* promtool: `promtool check metrics` for the tests (see promtool.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "promtool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int promtool_check(const char *text, size_t len, char *out, size_t outlen)
{
	char path[] = "/tmp/test_promtool.XXXXXX";
	char cmd[128], buf[4096];
	size_t used = 0, n;
	int fd = mkstemp(path);
	int status;
	FILE *p;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	/* Read to the end, keeping what fits, so promtool never blocks on a full pipe. */
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (!out) {
			fwrite(buf, 1, n, stderr);
			continue;
		}
		if (outlen && used < outlen - 1) {
			size_t take = n < outlen - 1 - used ? n : outlen - 1 - used;
			memcpy(out + used, buf, take);
			used += take;
		}
	}
	if (out && outlen)
		out[used] = '\0';
	status = pclose(p);
	unlink(path);
	if (status == -1 || !WIFEXITED(status))
		fail_msg("promtool check metrics did not run to the end (status 0x%x)", status);
	/* The shell's own statuses for a command it cannot find or execute. */
	if (WEXITSTATUS(status) == 126 || WEXITSTATUS(status) == 127)
		fail_msg("promtool could not be run (exit status %d): is it installed and on PATH?",
		         WEXITSTATUS(status));
	return WEXITSTATUS(status);
}
