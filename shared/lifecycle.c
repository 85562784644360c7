/*
 * lifecycle: the stop flag set by SIGTERM/SIGINT (see lifecycle.h). The handler stores two
 * sig_atomic_t values and nothing else; everything else happens in the main loop.
 */
#include "lifecycle.h"

#include <string.h>

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
	stop_flag = 1;
}

void lifecycle_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* Restart interrupted system calls: loops notice the flag at their next poll timeout, and
	 * libraries (libpq, librdkafka) need not cope with EINTR. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
}

bool lifecycle_stopping(void)
{
	return stop_flag != 0;
}

const volatile sig_atomic_t *lifecycle_stop_flag(void)
{
	return &stop_flag;
}

void lifecycle_request_stop(void)
{
	stop_flag = 1;
}

int lifecycle_stop_signal(void)
{
	return (int)stop_signal;
}
