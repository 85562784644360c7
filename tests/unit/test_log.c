/*
 * Unit tests for shared/log.c: lines are captured through log_set_output and parsed back with
 * jansson, so each test checks the JSON an operator's tools will see.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void capture_start(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	log_set_output(c->f);
}

/* Stops capturing; c->buf then holds everything written. */
static void capture_stop(struct capture *c)
{
	log_set_output(NULL);
	fclose(c->f);
}

/* Parses line number `index` (0-based) of the capture as a JSON object. */
static json_t *capture_line(const struct capture *c, size_t index)
{
	const char *p = c->buf;
	const char *nl;
	json_error_t err;
	json_t *j;

	for (; index > 0; index--) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	nl = strchr(p, '\n');
	assert_non_null(nl);
	j = json_loadb(p, (size_t)(nl - p), 0, &err);
	if (!j)
		fail_msg("line is not JSON: %s (%.*s)", err.text, (int)(nl - p), p);
	assert_true(json_is_object(j));
	return j;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int setup(void **state)
{
	(void)state;
	log_init("testsvc", LOG_LEVEL_DEBUG);
	return 0;
}

static void test_line_shape(void **state)
{
	struct capture c;
	json_t *j;
	const char *key;
	json_t *val;
	const char *order[] = {"ts", "level", "service", "msg", "topic", "partitions"};
	size_t i = 0;
	const char *ts;
	struct tm tm = {0};
	int ms = -1, consumed = 0;
	time_t when;

	(void)state;
	capture_start(&c);
	log_info("consumer assigned", "{s:s, s:i}", "topic", "messages.raw", "partitions", 3);
	capture_stop(&c);

	assert_int_equal(count_lines(c.buf), 1);
	j = capture_line(&c, 0);
	json_object_foreach(j, key, val)
	{
		assert_true(i < 6);
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, 6);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(j, "service")), "testsvc");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "consumer assigned");
	assert_string_equal(json_string_value(json_object_get(j, "topic")), "messages.raw");
	assert_int_equal(json_integer_value(json_object_get(j, "partitions")), 3);

	/* ts: RFC 3339 UTC with milliseconds, and close to now */
	ts = json_string_value(json_object_get(j, "ts"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24);
	assert_int_equal(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
	                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &consumed),
	                 7);
	assert_int_equal(consumed, 24);
	assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[20] >= '0' &&
	            ts[21] >= '0' && ts[22] >= '0');
	assert_in_range(ms, 0, 999);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	when = timegm(&tm);
	assert_true(when >= time(NULL) - 5 && when <= time(NULL) + 1);
	json_decref(j);
	free(c.buf);
}

static void test_no_fields(void **state)
{
	struct capture c;

	(void)state;
	capture_start(&c);
	log_warn("started", NULL);
	log_error("stopped", NULL);
	capture_stop(&c);
	assert_int_equal(count_lines(c.buf), 2);
	/* the line is exactly the four standard keys, nothing else */
	assert_non_null(
	        strstr(c.buf, "\"level\":\"warn\",\"service\":\"testsvc\",\"msg\":\"started\"}\n"));
	assert_non_null(strstr(
	        c.buf, "\"level\":\"error\",\"service\":\"testsvc\",\"msg\":\"stopped\"}\n"));
	free(c.buf);
}

static int side_effects;

static const char *count_call(const char *s)
{
	side_effects++;
	return s;
}

static void test_level_filtering(void **state)
{
	struct capture c;
	json_t *j;

	(void)state;
	log_init("testsvc", LOG_LEVEL_WARN);
	assert_false(log_enabled(LOG_LEVEL_DEBUG));
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_true(log_enabled(LOG_LEVEL_WARN));
	assert_true(log_enabled(LOG_LEVEL_ERROR));

	side_effects = 0;
	capture_start(&c);
	log_debug("hidden", "{s:s}", "x", count_call("a"));
	log_info(count_call("hidden"), NULL);
	assert_int_equal(side_effects, 0); /* disabled levels do not evaluate their arguments */
	log_warn("shown", "{s:s}", "x", count_call("b"));
	assert_int_equal(side_effects, 1);
	capture_stop(&c);

	assert_int_equal(count_lines(c.buf), 1);
	j = capture_line(&c, 0);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "shown");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "x")), "b");
	json_decref(j);
	free(c.buf);
	log_init("testsvc", LOG_LEVEL_DEBUG);
}

static void test_bad_format_still_logs(void **state)
{
	struct capture c;
	json_t *j;

	(void)state;
	capture_start(&c);
	log_info("bad pack", "{s:s", "key", "value");          /* unterminated object */
	log_info("null string", "{s:s}", "key", (char *)NULL); /* NULL for "s" */
	log_info("not an object", "[i]", 1);
	capture_stop(&c);

	assert_int_equal(count_lines(c.buf), 3);
	for (size_t i = 0; i < 3; i++) {
		j = capture_line(&c, i);
		assert_non_null(json_string_value(json_object_get(j, "log_error")));
		assert_true(strlen(json_string_value(json_object_get(j, "log_error"))) > 0);
		assert_null(json_object_get(j, "key"));
		assert_int_equal(json_object_size(j), 5);
		json_decref(j);
	}
	j = capture_line(&c, 0);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "bad pack");
	json_decref(j);
	free(c.buf);
}

static void test_reserved_fields_ignored(void **state)
{
	struct capture c;
	json_t *j;

	(void)state;
	capture_start(&c);
	log_info("real", "{s:s, s:s, s:s, s:s, s:i}", "msg", "fake", "level", "error", "service",
	         "other", "ts", "yesterday", "n", 7);
	capture_stop(&c);

	j = capture_line(&c, 0);
	assert_int_equal(json_object_size(j), 5);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "real");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(j, "service")), "testsvc");
	assert_int_not_equal(strcmp(json_string_value(json_object_get(j, "ts")), "yesterday"), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 7);
	json_decref(j);
	free(c.buf);
}

static void test_invalid_utf8_msg(void **state)
{
	struct capture c;
	json_t *j;

	(void)state;
	capture_start(&c);
	log_info("bad \xff byte", NULL);
	capture_stop(&c);
	j = capture_line(&c, 0);
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "bad \xEF\xBF\xBD byte");
	json_decref(j);
	free(c.buf);
}

static void test_long_line(void **state)
{
	struct capture c;
	char *big = malloc(10001);
	json_t *j;

	(void)state;
	memset(big, 'x', 10000);
	big[10000] = '\0';
	capture_start(&c);
	log_info("big", "{s:s}", "body", big);
	capture_stop(&c);
	assert_int_equal(count_lines(c.buf), 1);
	j = capture_line(&c, 0);
	assert_string_equal(json_string_value(json_object_get(j, "body")), big);
	json_decref(j);
	free(big);
	free(c.buf);
}

#define THREADS 4
#define LINES_PER_THREAD 500

static void *log_many(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_info("concurrent", "{s:i, s:i, s:s}", "thread", id, "i", i, "pad",
		         "padding padding padding padding padding padding padding padding");
	return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
	struct capture c;
	pthread_t t[THREADS];
	int seen[THREADS] = {0};

	(void)state;
	capture_start(&c);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	capture_stop(&c);

	assert_int_equal(count_lines(c.buf), THREADS * LINES_PER_THREAD);
	for (size_t i = 0; i < THREADS * LINES_PER_THREAD; i++) {
		json_t *j = capture_line(&c, i);
		int id = (int)json_integer_value(json_object_get(j, "thread"));
		assert_in_range(id, 0, THREADS - 1);
		/* each thread's lines arrive in its own order */
		assert_int_equal(json_integer_value(json_object_get(j, "i")), seen[id]);
		seen[id]++;
		json_decref(j);
	}
	free(c.buf);
}

static void test_level_parse(void **state)
{
	enum log_level lv = LOG_LEVEL_ERROR;

	(void)state;
	assert_int_equal(log_level_parse("debug", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("INFO", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_INFO);
	assert_int_equal(log_level_parse("Warn", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("error", &lv), 0);
	assert_int_equal(lv, LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("verbose", &lv), -1);
	assert_int_equal(log_level_parse("", &lv), -1);
	assert_int_equal(log_level_parse(NULL, &lv), -1);
	assert_int_equal(lv, LOG_LEVEL_ERROR);
}

static void check_mask(const char *in, const char *want)
{
	char *got = log_mask(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_mask(void **state)
{
	(void)state;
	check_mask("Иван Петров", "И**н П****в");
	check_mask("John Smith", "J**n S***h");
	check_mask("Анна-Мария Ёлкина", "А**а-М***я Ё****а");
	check_mask("ivan.petrov@mail.ru", "i**n.p****v@m**l.ru");
	check_mask("+7 913 123-45-67", "+7 9*3 1*3-45-67");
	check_mask("«Олег»", "«О**г»");
	check_mask("Ян", "Ян");
	check_mask("Я", "Я");
	check_mask("", "");
	check_mask("  ", "  ");
	/* invalid bytes are masked, never copied: the result stays valid UTF-8 */
	check_mask("a\xff\xfe"
	           "b",
	           "a**b");
	check_mask("\xff"
	           "bc",
	           "**c");
	assert_null(log_mask(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_line_shape, setup),
	        cmocka_unit_test_setup(test_no_fields, setup),
	        cmocka_unit_test_setup(test_level_filtering, setup),
	        cmocka_unit_test_setup(test_bad_format_still_logs, setup),
	        cmocka_unit_test_setup(test_reserved_fields_ignored, setup),
	        cmocka_unit_test_setup(test_invalid_utf8_msg, setup),
	        cmocka_unit_test_setup(test_long_line, setup),
	        cmocka_unit_test_setup(test_threads_do_not_interleave, setup),
	        cmocka_unit_test(test_level_parse),
	        cmocka_unit_test(test_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
