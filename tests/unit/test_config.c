/*
 * Unit tests for shared/config.c: every variable validated in one pass, every bad one named,
 * secrets never shown. Variables come from a table-backed getter, not the real environment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"

struct settings {
	char *brokers;
	char *database_url;
	int64_t port;
	bool verbose;
	int64_t poll_ms;
	char *password;
	int64_t secret_pin;
};

static const struct config_var vars[] = {
        {"KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", true, false, "bootstrap servers",
         offsetof(struct settings, brokers), 0, 0},
        {"DATABASE_URL", CONFIG_STRING, NULL, true, false, "libpq connection string",
         offsetof(struct settings, database_url), 0, 0},
        {"HTTP_PORT", CONFIG_INT, "8080", false, false, "port of /metrics",
         offsetof(struct settings, port), 1, 65535},
        {"VERBOSE", CONFIG_BOOL, "false", false, false, "chatty logs",
         offsetof(struct settings, verbose), 0, 0},
        {"POLL_INTERVAL", CONFIG_MS, "250ms", false, false, "poll interval",
         offsetof(struct settings, poll_ms), 10, 60000},
        {"SMTP_PASSWORD", CONFIG_STRING, NULL, false, true, "relay password",
         offsetof(struct settings, password), 0, 0},
        {"SECRET_PIN", CONFIG_INT, "1234", false, true, "pin",
         offsetof(struct settings, secret_pin), 0, 9999},
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* A fake environment: NULL-terminated name/value pairs. */
static const char *fake_env(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (; kv[0]; kv += 2) {
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	}
	return NULL;
}

static int load(const char *const *env, struct settings *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	return config_load(vars, NVARS, s, fake_env, (void *)(uintptr_t)env, err, errlen);
}

static void test_defaults(void **state)
{
	const char *const env[] = {"DATABASE_URL", "postgres://db/x", NULL};
	struct settings s;
	char err[256] = "untouched";

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(s.brokers, "127.0.0.1:9092");
	assert_string_equal(s.database_url, "postgres://db/x");
	assert_int_equal(s.port, 8080);
	assert_false(s.verbose);
	assert_int_equal(s.poll_ms, 250);
	assert_null(s.password);
	assert_int_equal(s.secret_pin, 1234);
	config_free(vars, NVARS, &s);
}

static void test_values_from_env(void **state)
{
	const char *const env[] = {"DATABASE_URL",
	                           "postgres://db/x",
	                           "KAFKA_BROKERS",
	                           "k1:9092,k2:9092",
	                           "HTTP_PORT",
	                           "9100",
	                           "VERBOSE",
	                           "YES",
	                           "POLL_INTERVAL",
	                           "30s",
	                           "SMTP_PASSWORD",
	                           "hunter2",
	                           NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), 0);
	assert_string_equal(s.brokers, "k1:9092,k2:9092");
	assert_int_equal(s.port, 9100);
	assert_true(s.verbose);
	assert_int_equal(s.poll_ms, 30000);
	assert_string_equal(s.password, "hunter2");
	config_free(vars, NVARS, &s);
}

static void test_missing_required(void **state)
{
	const char *const env[] = {NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "DATABASE_URL: required but not set");
	config_free(vars, NVARS, &s);
}

static void test_empty_string_is_unset(void **state)
{
	/* empty KAFKA_BROKERS takes the default; empty DATABASE_URL is missing */
	const char *const env[] = {"DATABASE_URL", "", "KAFKA_BROKERS", "", "HTTP_PORT", "", NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "DATABASE_URL: required but not set");
	assert_string_equal(s.brokers, "127.0.0.1:9092");
	assert_int_equal(s.port, 8080);
	config_free(vars, NVARS, &s);
}

static void test_bad_int(void **state)
{
	const char *const env[] = {"DATABASE_URL", "x", "HTTP_PORT", "80a", NULL};
	const char *const blank[] = {"DATABASE_URL", "x", "HTTP_PORT", " 80", NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "HTTP_PORT: not an integer: \"80a\"");
	config_free(vars, NVARS, &s);

	assert_int_equal(load(blank, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "HTTP_PORT: not an integer: \" 80\"");
	config_free(vars, NVARS, &s);
}

static void test_out_of_range(void **state)
{
	const char *const high[] = {"DATABASE_URL", "x", "HTTP_PORT", "70000", NULL};
	const char *const low[] = {"DATABASE_URL", "x", "HTTP_PORT", "0", NULL};
	const char *const huge[] = {"DATABASE_URL", "x", "HTTP_PORT", "99999999999999999999", NULL};
	const char *const edge[] = {"DATABASE_URL", "x", "HTTP_PORT", "65535", NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(high, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "HTTP_PORT: out of range [1, 65535]: \"70000\"");
	config_free(vars, NVARS, &s);

	assert_int_equal(load(low, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "HTTP_PORT: out of range [1, 65535]: \"0\"");
	config_free(vars, NVARS, &s);

	assert_int_equal(load(huge, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "HTTP_PORT: out of range [1, 65535]: \"99999999999999999999\"");
	config_free(vars, NVARS, &s);

	assert_int_equal(load(edge, &s, err, sizeof(err)), 0);
	assert_int_equal(s.port, 65535);
	config_free(vars, NVARS, &s);
}

static void test_bad_bool(void **state)
{
	const char *const env[] = {"DATABASE_URL", "x", "VERBOSE", "maybe", NULL};
	const char *const off[] = {"DATABASE_URL", "x", "VERBOSE", "Off", NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "VERBOSE: not a boolean (1/0, true/false, yes/no, on/off): \"maybe\"");
	config_free(vars, NVARS, &s);

	s.verbose = true;
	assert_int_equal(load(off, &s, err, sizeof(err)), 0);
	assert_false(s.verbose);
	config_free(vars, NVARS, &s);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {{"250ms", 250}, {"5s", 5000}, {"2m", 120000}, {"1h", 3600000}, {"40", 40}};
	struct settings s;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		static const struct config_var wide[] = {
		        {"T", CONFIG_MS, NULL, true, false, "", 0, 0, 0},
		};
		const char *const env[] = {"T", ok[i].text, NULL};
		int64_t ms = -1;
		assert_int_equal(config_load(wide, 1, &ms, fake_env, (void *)(uintptr_t)env, err,
		                             sizeof(err)),
		                 0);
		assert_int_equal(ms, ok[i].ms);
	}

	{
		const char *const env[] = {"DATABASE_URL", "x", "POLL_INTERVAL", "5 s", NULL};
		assert_int_equal(load(env, &s, err, sizeof(err)), -1);
		assert_string_equal(
		        err, "POLL_INTERVAL: not a duration (e.g. 250ms, 5s, 2m, 1h): \"5 s\"");
		config_free(vars, NVARS, &s);
	}
	{
		const char *const env[] = {"DATABASE_URL", "x", "POLL_INTERVAL", "-5s", NULL};
		assert_int_equal(load(env, &s, err, sizeof(err)), -1);
		assert_string_equal(
		        err, "POLL_INTERVAL: not a duration (e.g. 250ms, 5s, 2m, 1h): \"-5s\"");
		config_free(vars, NVARS, &s);
	}
	{
		const char *const env[] = {"DATABASE_URL", "x", "POLL_INTERVAL", "2h", NULL};
		assert_int_equal(load(env, &s, err, sizeof(err)), -1);
		assert_string_equal(err, "POLL_INTERVAL: out of range [10ms, 60000ms]: \"2h\"");
		config_free(vars, NVARS, &s);
	}
	{
		const char *const env[] = {"DATABASE_URL", "x", "POLL_INTERVAL", "1s", NULL};
		assert_int_equal(load(env, &s, err, sizeof(err)), 0);
		assert_int_equal(s.poll_ms, 1000);
		config_free(vars, NVARS, &s);
	}
}

static void test_several_errors_together(void **state)
{
	const char *const env[] = {"HTTP_PORT",     "80a",  "VERBOSE", "2",
	                           "POLL_INTERVAL", "fast", NULL};
	struct settings s;
	char err[512];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "DATABASE_URL: required but not set; "
	                    "HTTP_PORT: not an integer: \"80a\"; "
	                    "VERBOSE: not a boolean (1/0, true/false, yes/no, on/off): \"2\"; "
	                    "POLL_INTERVAL: not a duration (e.g. 250ms, 5s, 2m, 1h): \"fast\"");
	/* what did parse is set and freed by config_free */
	assert_string_equal(s.brokers, "127.0.0.1:9092");
	config_free(vars, NVARS, &s);
	assert_null(s.brokers);
}

static void test_error_truncated_safely(void **state)
{
	const char *const env[] = {"HTTP_PORT", "80a", NULL};
	struct settings s;
	char err[12];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "DATABASE_UR");
	config_free(vars, NVARS, &s);
}

static void test_secret_not_in_error(void **state)
{
	const char *const env[] = {"DATABASE_URL", "x", "SECRET_PIN", "s3cr3t-value", NULL};
	const char *const range[] = {"DATABASE_URL", "x", "SECRET_PIN", "777777", NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "SECRET_PIN: not an integer");
	assert_null(strstr(err, "s3cr3t"));
	config_free(vars, NVARS, &s);

	assert_int_equal(load(range, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "SECRET_PIN: out of range [0, 9999]");
	assert_null(strstr(err, "777777"));
	config_free(vars, NVARS, &s);
}

static void test_describe_redacts_secrets(void **state)
{
	const char *const env[] = {"DATABASE_URL", "postgres://db/x", "SMTP_PASSWORD", "hunter2",
	                           NULL};
	struct settings s;
	char err[256];
	json_t *d;
	char *text;

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), 0);
	d = config_describe(vars, NVARS, &s);
	text = json_dumps(d, JSON_COMPACT);
	assert_string_equal(text, "{\"KAFKA_BROKERS\":\"127.0.0.1:9092\","
	                          "\"DATABASE_URL\":\"postgres://db/x\",\"HTTP_PORT\":8080,"
	                          "\"VERBOSE\":false,\"POLL_INTERVAL\":250,"
	                          "\"SMTP_PASSWORD\":\"***\",\"SECRET_PIN\":\"***\"}");
	free(text);
	json_decref(d);
	config_free(vars, NVARS, &s);

	/* an unset secret is null, not "***" */
	{
		const char *const env2[] = {"DATABASE_URL", "x", NULL};
		assert_int_equal(load(env2, &s, err, sizeof(err)), 0);
		d = config_describe(vars, NVARS, &s);
		assert_true(json_is_null(json_object_get(d, "SMTP_PASSWORD")));
		json_decref(d);
		config_free(vars, NVARS, &s);
	}
}

static void test_print_help(void **state)
{
	static const struct config_var few[] = {
	        {"HTTP_PORT", CONFIG_INT, "8080", false, false, "port", 0, 0, 0},
	        {"DB_PASSWORD", CONFIG_STRING, "devpass", true, true, "database password", 0, 0, 0},
	        {"POLL", CONFIG_MS, NULL, false, false, "poll", 0, 0, 0},
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	config_print_help(few, 3, f);
	fclose(f);
	assert_string_equal(buf, "HTTP_PORT    int       8080  port\n"
	                         "DB_PASSWORD  string    ***   database password (required)\n"
	                         "POLL         duration  -     poll\n");
	free(buf);
}

static void test_config_free(void **state)
{
	const char *const env[] = {"DATABASE_URL", "x", "SMTP_PASSWORD", "p", NULL};
	struct settings s;
	char err[256];

	(void)state;
	assert_int_equal(load(env, &s, err, sizeof(err)), 0);
	assert_non_null(s.brokers);
	assert_non_null(s.password);
	config_free(vars, NVARS, &s);
	assert_null(s.brokers);
	assert_null(s.database_url);
	assert_null(s.password);
	config_free(vars, NVARS, &s); /* twice is harmless */
	config_free(vars, NVARS, NULL);
}

static void test_getenv_default(void **state)
{
	static const struct config_var one[] = {
	        {"TEST_CONFIG_UNIT_VAR", CONFIG_INT, NULL, true, false, "", 0, 0, 0},
	};
	int64_t v = 0;
	char err[128];

	(void)state;
	setenv("TEST_CONFIG_UNIT_VAR", "42", 1);
	assert_int_equal(config_load(one, 1, &v, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	unsetenv("TEST_CONFIG_UNIT_VAR");
	assert_int_equal(config_load(one, 1, &v, NULL, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "TEST_CONFIG_UNIT_VAR: required but not set");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_values_from_env),
	        cmocka_unit_test(test_missing_required),
	        cmocka_unit_test(test_empty_string_is_unset),
	        cmocka_unit_test(test_bad_int),
	        cmocka_unit_test(test_out_of_range),
	        cmocka_unit_test(test_bad_bool),
	        cmocka_unit_test(test_durations),
	        cmocka_unit_test(test_several_errors_together),
	        cmocka_unit_test(test_error_truncated_safely),
	        cmocka_unit_test(test_secret_not_in_error),
	        cmocka_unit_test(test_describe_redacts_secrets),
	        cmocka_unit_test(test_print_help),
	        cmocka_unit_test(test_config_free),
	        cmocka_unit_test(test_getenv_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
