/* testproc: processes started by integration tests (see testproc.h). */
#include "testproc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void testproc_start(struct testproc *p, const char *path, char *const argv[],
                    const char *const env[], const char *log_path)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->log, sizeof(p->log), "%s", log_path);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)(uintptr_t)*e);
		char *const def[] = {(char *)(uintptr_t)path, NULL};
		execv(path, argv ? argv : def);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	p->pid = pid;
}

int testproc_running(struct testproc *p)
{
	int st;
	if (!p->pid)
		return 0;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r == 0)
		return 1;
	if (r == p->pid)
		p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
	p->pid = 0;
	return 0;
}

int testproc_stop(struct testproc *p, int sig, int timeout_ms)
{
	if (!p->pid)
		return p->status;
	if (sig)
		kill(p->pid, sig);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (!testproc_running(p))
			return p->status;
		sleep_ms(20);
	}
	kill(p->pid, SIGKILL);
	int st;
	waitpid(p->pid, &st, 0);
	p->pid = 0;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
	return p->status;
}

void testproc_print_log(const struct testproc *p, int lines)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "tail -n %d '%s' 1>&2", lines, p->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log at %s)\n", p->log);
}

void testproc_wait_http(struct testproc *p, int port, const char *path, int timeout_ms)
{
	char url[256], err[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		struct http_client_response r;
		if (http_get(url, &r, err, sizeof(err)) == 0) {
			long status = r.status;
			http_client_response_clear(&r);
			if (status == 200)
				return;
		}
		if (p && !testproc_running(p)) {
			testproc_print_log(p, 30);
			fail_msg("%s exited (status %d) before %s answered 200", p->log, p->status,
			         url);
		}
		sleep_ms(100);
	}
	if (p)
		testproc_print_log(p, 30);
	fail_msg("%s did not answer 200 within %d ms", url, timeout_ms);
}
