/*
 * testproc: the processes an integration test starts (a service binary, demo-sources, a
 * broker): start with extra environment variables and output to a log file, wait until an HTTP
 * endpoint answers 200, signal, and reap with the exit status.
 *
 *     struct testproc p;
 *     const char *env[] = {"HTTP_PORT=18080", "DATABASE_URL=...", NULL};
 *     testproc_start(&p, "build/dev/bin/collector", NULL, env, "/tmp/collector.log");
 *     testproc_wait_http(18080, "/readyz", 20000);
 *     ...
 *     int status = testproc_stop(&p, SIGTERM, 10000);   // exit status, or -signal
 *
 * Failures call cmocka's fail_msg. A process still running when the test binary exits is the
 * caller's to stop (use testproc_stop in teardown; it accepts a process already reaped).
 */
#ifndef TESTS_TESTPROC_H
#define TESTS_TESTPROC_H

#include <sys/types.h>

struct testproc {
	pid_t pid;     /* 0 when not running */
	int status;    /* after stop: exit status, or -signal when killed by one */
	char log[256]; /* where stdout and stderr go */
};

/*
 * Starts `path` with argv (NULL: just the program name) and the current environment plus
 * `env` ("NAME=value" strings, NULL-terminated; may be NULL), stdout and stderr appended to
 * log_path. Fails the test when the program cannot be started.
 */
void testproc_start(struct testproc *p, const char *path, char *const argv[],
                    const char *const env[], const char *log_path);

/*
 * Waits until GET http://127.0.0.1:<port><path> answers 200, or fails the test after
 * timeout_ms (printing the tail of `p`'s log when p is not NULL).
 */
void testproc_wait_http(struct testproc *p, int port, const char *path, int timeout_ms);

/*
 * Sends sig (0: none, just wait) and waits up to timeout_ms for the exit, then SIGKILLs.
 * Returns the exit status, or -signal when a signal ended it. A process not running returns
 * its last status.
 */
int testproc_stop(struct testproc *p, int sig, int timeout_ms);

/* True while the process runs (reaps it if it ended, setting status). */
int testproc_running(struct testproc *p);

/* Prints the last `lines` lines of the log to stderr (for failure messages). */
void testproc_print_log(const struct testproc *p, int lines);

#endif
