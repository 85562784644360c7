/* files: whole-file reads (see files.h). */
#include "files.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

char *file_read(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	size_t n = 0, cap = 0, got;
	char *data = NULL;

	if (!fp) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 1 << 16;
			data = xrealloc(data, cap);
		}
		got = fread(data + n, 1, cap - n - 1, fp);
		n += got;
	} while (got > 0);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read failed: %s", path, strerror(errno));
		fclose(fp);
		free(data);
		return NULL;
	}
	fclose(fp);
	data[n] = '\0';
	*len = n;
	return data;
}

char *file_share_path(const char *what)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return xasprintf("share/%s", what);
	exe[n] = '\0';
	return xasprintf("%s/../share/%s", dirname(exe), what);
}
