/*
 * The benchmark script (tests/bench/run.sh, `make bench`) with its classifier section alone
 * (BENCH_SECTIONS=classifier; the other sections start the whole stack) on a small input: it
 * runs, prints the classifier's two rows, and writes results.json with the classifier section
 * first. Only that it works is checked, never a speed: benchmarks print figures, tests do not
 * time.
 *
 * Run from the repository root (tests/run.sh does); the binaries are $TEST_BIN_DIR's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "xalloc.h"

static void test_bench_runs(void **state)
{
	const char *bin = getenv("TEST_BIN_DIR") ? getenv("TEST_BIN_DIR") : "build/dev/bin";
	char dir[] = "/tmp/test_bench.XXXXXX", err[256];
	char *cmd, *out, *results, *path;
	const json_t *section, *rows;
	json_error_t je;
	json_t *doc;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cmd = xasprintf("B=%s/.. BENCH_SECTIONS=classifier BENCH_MESSAGES=3000 BENCH_OUT=%s "
	                "sh tests/bench/run.sh >%s/out 2>&1",
	                bin, dir, dir);
	if (system(cmd) != 0) {
		path = xasprintf("%s/out", dir);
		out = file_read(path, &len, err, sizeof(err));
		fail_msg("tests/bench/run.sh failed:\n%s", out ? out : err);
	}
	path = xasprintf("%s/out", dir);
	out = file_read(path, &len, err, sizeof(err));
	assert_non_null(out);
	assert_non_null(strstr(out, "\nclassifier: 3000 messages"));
	assert_non_null(strstr(out, "\nclassify (full decision, classified.v1 out)       "));
	assert_non_null(strstr(out, "\nclassify --model (topic model alone)  "));
	free(path);

	path = xasprintf("%s/results.json", dir);
	results = file_read(path, &len, err, sizeof(err));
	assert_non_null(results);
	doc = json_loads(results, 0, &je);
	if (!doc)
		fail_msg("results.json: %s", je.text);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "bench.v1");
	section = json_array_get(json_object_get(doc, "sections"), 0);
	assert_string_equal(json_string_value(json_object_get(section, "section")), "classifier");
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(section, "input"), "messages")),
	        3000);
	rows = json_object_get(section, "results");
	assert_int_equal(json_array_size(rows), 2);
	for (size_t i = 0; i < 2; i++) {
		const json_t *r = json_array_get(rows, i);
		assert_int_equal(json_integer_value(json_object_get(r, "messages")), 3000);
		assert_true(json_integer_value(json_object_get(r, "per_second_per_core")) > 0);
		assert_true(json_integer_value(json_object_get(r, "per_cpu_second")) > 0);
		assert_true(json_number_value(json_object_get(r, "ratio_to_reference")) > 0);
		assert_non_null(json_object_get(json_object_get(r, "us_per_message"), "deciding"));
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "name")),
	                    "classify");
	json_decref(doc);
	free(results);
	free(path);
	free(out);
	free(cmd);
	cmd = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bench_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
