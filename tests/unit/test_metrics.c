/*
 * Unit tests for shared/metrics.c: exact exposition text for a small registry, thread safety,
 * and a realistic registry (with process metrics) checked by Prometheus's own promtool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "promtool.h"

static void test_render_exact(void **state)
{
	static const double bounds[] = {0.005, 0.1, 1};
	struct metrics *reg = metrics_new();
	struct metric *req, *depth, *lat;
	char *text;

	(void)state;
	req = metrics_counter(reg, "app_requests_total", "Requests, by path\nand code \\ outcome.",
	                      "path,code");
	depth = metrics_gauge(reg, "app_queue_depth", "Queue depth.", NULL);
	lat = metrics_histogram(reg, "app_latency_seconds", "Latency.", "stage", bounds, 3);
	metrics_counter(reg, "app_unused_total", "Labelled and never used.", "kind");

	metric_add(req, 1, "/b\"q\\\n", "500");
	metric_add(req, 1, "/a", "200");
	metric_add(req, 2, "/a", "200");
	metric_set(depth, 2.5);
	/* sums of powers of two stay exact; 1 sits on a bound, which is inclusive */
	metric_observe(lat, 0.00390625, "parse");
	metric_observe(lat, 0.0625, "parse");
	metric_observe(lat, 1, "parse");
	metric_observe(lat, 3, "parse");

	text = metrics_render(reg);
	assert_string_equal(text,
	                    "# HELP app_requests_total Requests, by path\\nand code \\\\ outcome.\n"
	                    "# TYPE app_requests_total counter\n"
	                    "app_requests_total{path=\"/a\",code=\"200\"} 3\n"
	                    "app_requests_total{path=\"/b\\\"q\\\\\\n\",code=\"500\"} 1\n"
	                    "# HELP app_queue_depth Queue depth.\n"
	                    "# TYPE app_queue_depth gauge\n"
	                    "app_queue_depth 2.5\n"
	                    "# HELP app_latency_seconds Latency.\n"
	                    "# TYPE app_latency_seconds histogram\n"
	                    "app_latency_seconds_bucket{stage=\"parse\",le=\"0.005\"} 1\n"
	                    "app_latency_seconds_bucket{stage=\"parse\",le=\"0.1\"} 2\n"
	                    "app_latency_seconds_bucket{stage=\"parse\",le=\"1\"} 3\n"
	                    "app_latency_seconds_bucket{stage=\"parse\",le=\"+Inf\"} 4\n"
	                    "app_latency_seconds_sum{stage=\"parse\"} 4.06640625\n"
	                    "app_latency_seconds_count{stage=\"parse\"} 4\n"
	                    "# HELP app_unused_total Labelled and never used.\n"
	                    "# TYPE app_unused_total counter\n");
	free(text);
	metrics_free(reg);
}

static void test_unlabelled_start_at_zero(void **state)
{
	static const double bounds[] = {0.25, 2};
	struct metrics *reg = metrics_new();
	char *text;

	(void)state;
	metrics_counter(reg, "app_started_total", "Starts.", NULL);
	metrics_gauge(reg, "app_ready", "Ready.", "");
	metrics_histogram(reg, "app_wait_seconds", "Wait.", NULL, bounds, 2);
	text = metrics_render(reg);
	assert_string_equal(text, "# HELP app_started_total Starts.\n"
	                          "# TYPE app_started_total counter\n"
	                          "app_started_total 0\n"
	                          "# HELP app_ready Ready.\n"
	                          "# TYPE app_ready gauge\n"
	                          "app_ready 0\n"
	                          "# HELP app_wait_seconds Wait.\n"
	                          "# TYPE app_wait_seconds histogram\n"
	                          "app_wait_seconds_bucket{le=\"0.25\"} 0\n"
	                          "app_wait_seconds_bucket{le=\"2\"} 0\n"
	                          "app_wait_seconds_bucket{le=\"+Inf\"} 0\n"
	                          "app_wait_seconds_sum 0\n"
	                          "app_wait_seconds_count 0\n");
	free(text);
	metrics_free(reg);
}

static void test_default_buckets(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *h;
	char *text;

	(void)state;
	h = metrics_histogram(reg, "app_step_seconds", "Step.", NULL, NULL, 0);
	metric_observe(h, 0.0021);
	metric_observe(h, 20);
	text = metrics_render(reg);
	assert_string_equal(text, "# HELP app_step_seconds Step.\n"
	                          "# TYPE app_step_seconds histogram\n"
	                          "app_step_seconds_bucket{le=\"0.0005\"} 0\n"
	                          "app_step_seconds_bucket{le=\"0.001\"} 0\n"
	                          "app_step_seconds_bucket{le=\"0.0025\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.005\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.01\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.025\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.05\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.1\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.25\"} 1\n"
	                          "app_step_seconds_bucket{le=\"0.5\"} 1\n"
	                          "app_step_seconds_bucket{le=\"1\"} 1\n"
	                          "app_step_seconds_bucket{le=\"2.5\"} 1\n"
	                          "app_step_seconds_bucket{le=\"5\"} 1\n"
	                          "app_step_seconds_bucket{le=\"10\"} 1\n"
	                          "app_step_seconds_bucket{le=\"+Inf\"} 2\n"
	                          "app_step_seconds_sum 20.0021\n"
	                          "app_step_seconds_count 2\n");
	assert_true(metric_value(h) == 2);
	free(text);
	metrics_free(reg);
}

static void test_value_formatting(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *g;
	char *text;

	(void)state;
	g = metrics_gauge(reg, "app_value", "Values.", "case");
	metric_set(g, 0.1, "a_tenth");
	metric_set(g, -3, "b_negative");
	metric_set(g, 123456789, "c_integer");
	metric_set(g, 1e20, "d_huge");
	metric_set(g, NAN, "e_nan");
	metric_set(g, INFINITY, "f_inf");
	metric_set(g, -INFINITY, "g_neg_inf");
	metric_set(g, 1.0 / 3.0, "h_third");
	metric_set(g, 2.5e-7, "i_tiny");
	text = metrics_render(reg);
	assert_string_equal(text, "# HELP app_value Values.\n"
	                          "# TYPE app_value gauge\n"
	                          "app_value{case=\"a_tenth\"} 0.1\n"
	                          "app_value{case=\"b_negative\"} -3\n"
	                          "app_value{case=\"c_integer\"} 123456789\n"
	                          "app_value{case=\"d_huge\"} 1e+20\n"
	                          "app_value{case=\"e_nan\"} NaN\n"
	                          "app_value{case=\"f_inf\"} +Inf\n"
	                          "app_value{case=\"g_neg_inf\"} -Inf\n"
	                          "app_value{case=\"h_third\"} 0.3333333333333333\n"
	                          "app_value{case=\"i_tiny\"} 2.5e-07\n");
	free(text);
	metrics_free(reg);
}

static void test_label_values_utf8(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *c;
	char *text;

	(void)state;
	c = metrics_counter(reg, "app_posts_total", "Posts by municipality.", "municipality");
	metric_add(c, 1, "Абакан");
	metric_add(c, 1, "bad\xff");
	metric_add(c, 1, NULL); /* NULL is the empty value */
	text = metrics_render(reg);
	assert_string_equal(text, "# HELP app_posts_total Posts by municipality.\n"
	                          "# TYPE app_posts_total counter\n"
	                          "app_posts_total{municipality=\"\"} 1\n"
	                          "app_posts_total{municipality=\"bad\xEF\xBF\xBD\"} 1\n"
	                          "app_posts_total{municipality=\"Абакан\"} 1\n");
	free(text);
	metrics_free(reg);
}

static void test_redeclare_same_pointer(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *a, *b, *h1, *h2;

	(void)state;
	a = metrics_counter(reg, "app_x_total", "X.", "source,outcome");
	b = metrics_counter(reg, "app_x_total", "X again.", " source , outcome ");
	assert_ptr_equal(a, b);
	h1 = metrics_histogram(reg, "app_h_seconds", "H.", NULL, NULL, 0);
	h2 = metrics_histogram(reg, "app_h_seconds", "H.", NULL, NULL, 0);
	assert_ptr_equal(h1, h2);
	assert_ptr_not_equal(a, h1);
	metric_add(a, 2, "vk", "ok");
	assert_true(metric_value(b, "vk", "ok") == 2);
	metrics_free(reg);
}

/* Runs fn in a child and reports whether it died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void redeclare_other_type(void)
{
	struct metrics *reg = metrics_new();
	metrics_counter(reg, "app_y_total", "Y.", NULL);
	metrics_gauge(reg, "app_y_total", "Y.", NULL);
}

static void redeclare_other_labels(void)
{
	struct metrics *reg = metrics_new();
	metrics_counter(reg, "app_y_total", "Y.", "a");
	metrics_counter(reg, "app_y_total", "Y.", "a,b");
}

static void bad_metric_name(void)
{
	metrics_gauge(metrics_new(), "app-y", "Y.", NULL);
}

static void bad_label_name(void)
{
	metrics_gauge(metrics_new(), "app_y", "Y.", "ok,9bad");
}

static void le_label_on_histogram(void)
{
	metrics_histogram(metrics_new(), "app_y_seconds", "Y.", "le", NULL, 0);
}

static void unsorted_buckets(void)
{
	static const double b[] = {1, 0.5};
	metrics_histogram(metrics_new(), "app_y_seconds", "Y.", NULL, b, 2);
}

static void set_on_counter(void)
{
	struct metric *c = metrics_counter(metrics_new(), "app_y_total", "Y.", NULL);
	metric_set(c, 1);
}

static void well_formed(void)
{
	struct metrics *reg = metrics_new();
	metrics_counter(reg, "app:y_total", "Y.", "a,b");
	metrics_counter(reg, "app:y_total", "Y.", "a,b");
	metrics_free(reg);
}

static void test_misuse_aborts(void **state)
{
	(void)state;
	assert_false(aborts(well_formed)); /* the harness itself does not report false aborts */
	assert_true(aborts(redeclare_other_type));
	assert_true(aborts(redeclare_other_labels));
	assert_true(aborts(bad_metric_name));
	assert_true(aborts(bad_label_name));
	assert_true(aborts(le_label_on_histogram));
	assert_true(aborts(unsorted_buckets));
	assert_true(aborts(set_on_counter));
}

static void test_value_and_counter_rules(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *c, *g;
	char *text;

	(void)state;
	c = metrics_counter(reg, "app_c_total", "C.", "k");
	g = metrics_gauge(reg, "app_in_flight", "G.", NULL);
	assert_true(metric_value(c, "never") == 0);
	metric_add(c, 5, "x");
	metric_add(c, -1, "x"); /* counters never go down */
	metric_add(c, NAN, "x");
	assert_true(metric_value(c, "x") == 5);
	metric_add(g, 3);
	metric_add(g, -1);
	assert_true(metric_value(g) == 2);

	/* reading a value does not create a series */
	text = metrics_render(reg);
	assert_null(strstr(text, "never"));
	free(text);
	metrics_free(reg);
}

static int hook_calls;

static void hook(void *ctx)
{
	hook_calls++;
	metric_set(ctx, hook_calls * 10);
}

static void test_on_render_hook(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *backlog = metrics_gauge(reg, "app_backlog", "Backlog.", NULL);
	char *text;

	(void)state;
	hook_calls = 0;
	metrics_on_render(reg, hook, backlog);
	text = metrics_render(reg);
	assert_int_equal(hook_calls, 1);
	assert_non_null(strstr(text, "\napp_backlog 10\n"));
	free(text);
	text = metrics_render(reg);
	assert_int_equal(hook_calls, 2);
	assert_non_null(strstr(text, "\napp_backlog 20\n"));
	free(text);
	metrics_free(reg);
}

#define THREADS 8
#define ADDS 20000

struct worker {
	struct metric *counter;
	struct metric *hist;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	const char *label = w->id % 2 ? "odd" : "even";

	for (int i = 0; i < ADDS; i++) {
		metric_add(w->counter, 1, label);
		metric_observe(w->hist, 0.001);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics *reg = metrics_new();
	struct worker w[THREADS];
	pthread_t t[THREADS];
	char *text;

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		w[i].counter = metrics_counter(reg, "app_work_total", "Work.", "parity");
		w[i].hist = metrics_histogram(reg, "app_work_seconds", "Work.", NULL, NULL, 0);
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(metric_value(w[0].counter, "odd") == (double)THREADS / 2 * ADDS);
	assert_true(metric_value(w[0].counter, "even") == (double)THREADS / 2 * ADDS);
	assert_true(metric_value(w[0].hist) == (double)THREADS * ADDS);
	text = metrics_render(reg);
	assert_non_null(strstr(text, "app_work_total{parity=\"even\"} 80000\n"
	                             "app_work_total{parity=\"odd\"} 80000\n"));
	assert_non_null(strstr(text, "app_work_seconds_bucket{le=\"0.0005\"} 0\n"
	                             "app_work_seconds_bucket{le=\"0.001\"} 160000\n"));
	assert_non_null(strstr(text, "app_work_seconds_count 160000\n"));
	free(text);
	metrics_free(reg);
}

/* The value of the first sample line "name value" in text. */
static double sample(const char *text, const char *name)
{
	char needle[128];
	const char *p;

	snprintf(needle, sizeof(needle), "\n%s ", name);
	p = strstr(text, needle);
	if (!p)
		fail_msg("no sample %s", name);
	return strtod(p + strlen(needle), NULL);
}

static void test_promtool_accepts_realistic_registry(void **state)
{
	static const double stages[] = {0.001, 0.01, 0.1, 1};
	struct metrics *reg = metrics_new();
	struct metric *rx, *dup, *lag, *lat, *batch;
	char out[4096];
	char *text;
	double start;

	(void)state;
	metrics_add_process_metrics(reg);
	metrics_add_process_metrics(reg); /* idempotent */
	rx = metrics_counter(reg, "collector_messages_total",
	                     "Messages received, by source and outcome.", "source,outcome");
	dup = metrics_counter(reg, "collector_duplicates_total", "Duplicates dropped.", NULL);
	lag = metrics_gauge(reg, "classifier_consumer_lag_messages", "Consumer lag.",
	                    "topic,partition");
	lat = metrics_histogram(reg, "classifier_latency_seconds",
	                        "Time to classify one message.\nBackslash \\ included.", NULL, NULL,
	                        0);
	batch = metrics_histogram(reg, "assigner_stage_seconds", "Time per stage.", "stage", stages,
	                          4);
	metrics_counter(reg, "notifier_sent_total", "Notifications sent, by channel.", "channel");

	metric_add(rx, 3, "vk", "accepted");
	metric_add(rx, 1, "telegram", "rejected \"bad\"\nline \\ two");
	metric_add(rx, 1, "rss", "Черногорск");
	metric_add(dup, 2);
	metric_set(lag, 17, "messages.raw", "0");
	metric_set(lag, NAN, "messages.raw", "1");
	metric_observe(lat, 0.0021);
	metric_observe(lat, 0.3);
	metric_observe(batch, 0.5, "route");
	metric_observe(batch, 2, "group");

	text = metrics_render(reg);

	/* process metrics are real values */
	assert_true(sample(text, "process_resident_memory_bytes") > 0);
	assert_true(sample(text, "process_virtual_memory_bytes") >=
	            sample(text, "process_resident_memory_bytes"));
	assert_true(sample(text, "process_open_fds") >= 3);
	assert_true(sample(text, "process_max_fds") >= sample(text, "process_open_fds"));
	assert_true(sample(text, "process_cpu_seconds_total") >= 0);
	start = sample(text, "process_start_time_seconds");
	assert_true(start > (double)time(NULL) - 3600 && start <= (double)time(NULL) + 1);
	assert_int_equal(strstr(text, "# TYPE process_cpu_seconds_total counter") != NULL, 1);

	assert_int_equal(promtool_check(text, strlen(text), out, sizeof(out)), 0);
	assert_string_equal(out, "");
	free(text);
	metrics_free(reg);

	/* the check is real: promtool rejects a lint problem and a syntax error */
	{
		static const char lint[] = "# HELP app_c C.\n# TYPE app_c counter\napp_c 1\n";
		static const char syntax[] = "app_c{a=\"x 1\n";

		assert_int_not_equal(promtool_check(lint, sizeof(lint) - 1, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "_total"));
		assert_int_not_equal(promtool_check(syntax, sizeof(syntax) - 1, out, sizeof(out)),
		                     0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_render_exact),
	        cmocka_unit_test(test_unlabelled_start_at_zero),
	        cmocka_unit_test(test_default_buckets),
	        cmocka_unit_test(test_value_formatting),
	        cmocka_unit_test(test_label_values_utf8),
	        cmocka_unit_test(test_redeclare_same_pointer),
	        cmocka_unit_test(test_misuse_aborts),
	        cmocka_unit_test(test_value_and_counter_rules),
	        cmocka_unit_test(test_on_render_hook),
	        cmocka_unit_test(test_threads),
	        cmocka_unit_test(test_promtool_accepts_realistic_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
