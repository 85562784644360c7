/*
 * The "done when", checked on `make run`'s own script (deploy/local/run.sh) with every
 * built service and the demo stream: the demo's incidents produce e-mails caught by the local
 * SMTP server (in the mailbox the summary names) and webhook calls the demo's receiver
 * verified, and an answer recorded through the assigner's API is published to the local VK or
 * Telegram, its link recorded. Needs the assigner (skipped, loudly, before it is built).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "files.h"
#include "http_client.h"
#include "support.h"
#include "testenv.h"
#include "testproc.h"
#include "timefmt.h"

static struct testproc run;
static char var[512], out_path[600];
static int base, pg_port;

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static json_t *get_json(const char *url, const char *token)
{
	char auth[128], err[256];
	struct http_client_response r;
	struct http_client *c = http_client_new();
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	const char *headers[] = {auth, NULL};
	json_t *j = NULL;
	if (http_client_request(c, "GET", url, token ? headers : NULL, NULL, 0, &r, err,
	                        sizeof(err)) == 0) {
		j = json_loads(r.body, 0, NULL);
		http_client_response_clear(&r);
	}
	http_client_free(c);
	return j;
}

/* Entries of demo-sources' /control/published with api = `api`. */
static int published(const char *api, const char *text)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/published", base + 9);
	json_t *j = get_json(url, NULL);
	json_t *item;
	size_t i;
	int n = 0;
	json_array_foreach(json_object_get(j, "published"), i, item)
	{
		if (strcmp(jstr(item, "api"), api) != 0)
			continue;
		if (!text || strstr(jstr(item, "message"), text) ||
		    strstr(jstr(item, "text"), text))
			n++;
	}
	json_decref(j);
	return n;
}

static void wait_until(int (*fn)(void), const char *what, int seconds)
{
	for (int i = 0; !fn(); i++) {
		if (i >= seconds * 10) {
			testproc_print_log(&run, 40);
			fail_msg("make run: %s not seen after %d s", what, seconds);
		}
		usleep(100 * 1000);
	}
}

static int mail_arrived(void)
{
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/mail/new", var);
	return count_files(dir) > 0;
}

static int webhook_arrived(void)
{
	return published("webhook", NULL) > 0;
}

static int setup(void **state)
{
	(void)state;
	const char *bin = testenv_require("TEST_BIN_DIR", "run through tests/run.sh");
	const char *work = testenv_require("TEST_WORK_DIR", "run through tests/run.sh");
	char path[600];
	snprintf(path, sizeof(path), "%s/assigner", bin);
	if (access(path, X_OK) != 0)
		return 0; /* the test skips itself */
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	pg_port = testenv_free_port();
	base = 20000 + rand() % 20000;
	snprintf(var, sizeof(var), "%s/notifier-run-var", work);
	snprintf(out_path, sizeof(out_path), "%s/notifier-run.out", work);
	static char env[6][600];
	snprintf(env[0], sizeof(env[0]), "VAR_DIR=%s", var);
	snprintf(env[1], sizeof(env[1]), "BIN=%s", bin);
	snprintf(env[2], sizeof(env[2]), "PG_PORT=%d", pg_port);
	snprintf(env[3], sizeof(env[3]), "HTTP_BASE_PORT=%d", base);
	snprintf(env[4], sizeof(env[4]), "DEMO_PACE=1000");
	snprintf(env[5], sizeof(env[5]), "PROMETHEUS_PORT=%d", testenv_free_port());
	const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], NULL};
	char *const argv[] = {"sh", "deploy/local/run.sh", NULL};
	testproc_start(&run, "/bin/sh", argv, envp, out_path);
	char ready[600];
	snprintf(ready, sizeof(ready), "%s/ready", var);
	for (int i = 0; access(ready, F_OK) != 0; i++) {
		if (i > 1200 || !testproc_running(&run)) {
			testproc_print_log(&run, 40);
			fail_msg("make run did not get ready");
		}
		usleep(100 * 1000);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (run.pid)
		testproc_stop(&run, SIGTERM, 60000);
	return 0;
}

static void test_done_when(void **state)
{
	(void)state;
	if (!run.pid)
		skip();
	char err[256], url[256];
	size_t len;
	char *summary = file_read(out_path, &len, err, sizeof(err));
	char mailbox[600];
	snprintf(mailbox, sizeof(mailbox), "mailbox: %s/mail/new/", var);
	assert_non_null(summary);
	assert_non_null(strstr(summary, mailbox));
	free(summary);

	wait_until(mail_arrived, "an e-mail in the mailbox", 120);
	wait_until(webhook_arrived, "a verified webhook at demo-sources", 120);

	/* An incident routed from a VK or Telegram post, answered through the assigner. */
	char dburl[128];
	snprintf(dburl, sizeof(dburl), "postgresql://postgres@127.0.0.1:%d/incidents", pg_port);
	struct db *db = db_connect(dburl, 10000, NULL, err, sizeof(err));
	assert_non_null(db);
	PGresult *res = NULL;
	for (int i = 0; i < 600; i++) {
		PQclear(res);
		res = db_exec(
		        db,
		        "SELECT r.incident_id FROM assigner.reports r JOIN assigner.incidents i"
		        " ON i.id = r.incident_id WHERE r.source IN ('vk', 'telegram')"
		        " AND r.thread IS NOT NULL AND i.status = 'assigned' LIMIT 1",
		        0, NULL, err, sizeof(err));
		if (res && PQntuples(res) == 1)
			break;
		usleep(100 * 1000);
	}
	assert_true(res && PQntuples(res) == 1);
	char id[24];
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	const char *answer =
	        "{\"kind\":\"final\",\"text\":\"Проверка make run: ответ опубликован\"}";
	struct http_client_response r;
	struct http_client *c = http_client_new();
	const char *headers[] = {"Authorization: Bearer demo-operator-token",
	                         "Content-Type: application/json", NULL};
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/incidents/%s/respond", base + 3, id);
	assert_int_equal(http_client_request(c, "POST", url, headers, answer, strlen(answer), &r,
	                                     err, sizeof(err)),
	                 0);
	assert_int_equal(r.status, 200);
	http_client_response_clear(&r);
	http_client_free(c);

	int64_t deadline = time_mono_ms() + 30000;
	while (published("vk", "Проверка make run") + published("telegram", "Проверка make run") ==
	       0) {
		if (time_mono_ms() > deadline) {
			testproc_print_log(&run, 40);
			fail_msg("the answer to incident %s was not published", id);
		}
		usleep(100 * 1000);
	}
	/* The notifier recorded where it can be seen. */
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM notifier.deliveries WHERE incident_id = %s AND channel IN"
	         " ('vk_reply', 'telegram_reply') AND status = 'sent' AND link LIKE 'https://%%'",
	         id);
	res = db_exec(db, sql, 0, NULL, err, sizeof(err));
	assert_non_null(res);
	assert_true(atoi(PQgetvalue(res, 0, 0)) >= 1);
	PQclear(res);
	db_free(db);

	assert_int_equal(testproc_stop(&run, SIGTERM, 60000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_done_when),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
