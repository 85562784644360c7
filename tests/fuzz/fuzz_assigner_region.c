/*
 * Fuzz target: region pack loading (services/assigner/region.c). The first input byte picks
 * one of the pack's five files, the rest replaces it in a copy of deploy/regions/khakassia
 * (FUZZ_REGION_DIR); region_load must either load the pack or refuse it with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/assigner/region.h"
#include "files.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const char *const files[] = {"authorities.json", "calendar.json", "deadlines.json",
                                    "municipalities.json", "routing.json"};
#define NFILES (sizeof(files) / sizeof(files[0]))

static char dir[64];
static char *original[NFILES];
static size_t original_len[NFILES];

static void write_file(size_t i, const void *data, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
	if (!(f = fopen(path, "wb")) || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static void cleanup(void)
{
	char path[128];

	for (size_t i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
		free(original[i]);
	}
	rmdir(dir);
}

static void setup(void)
{
	const char *src = getenv("FUZZ_REGION_DIR");
	char err[256], path[512];

	snprintf(dir, sizeof(dir), "/tmp/fuzz-region.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", src ? src : "deploy/regions/khakassia",
		         files[i]);
		if (!(original[i] = file_read(path, &original_len[i], err, sizeof(err)))) {
			fprintf(stderr, "fuzz_assigner_region: %s\n", err);
			abort();
		}
		write_file(i, original[i], original_len[i]);
	}
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char err[512] = "";

	if (!dir[0])
		setup();
	if (size == 0)
		return 0;
	size_t i = data[0] % NFILES;
	write_file(i, data + 1, size - 1);
	struct region *r = region_load(dir, err, sizeof(err));
	if (!r && !err[0])
		abort();
	region_free(r);
	write_file(i, original[i], original_len[i]);
	return 0;
}
