/*
 * lifecycle: how a service learns that it must stop.
 *
 * SIGTERM and SIGINT only set a flag (nothing else is safe in a signal handler); the service's
 * main loop checks lifecycle_stopping() at least once per poll interval, then drains: stops
 * taking work, finishes what is in flight, commits offsets, flushes producers, closes
 * connections and returns 0 from main. SIGPIPE is ignored so a vanished HTTP client or broker
 * socket is an error return, not a death.
 */
#ifndef SHARED_LIFECYCLE_H
#define SHARED_LIFECYCLE_H

#include <signal.h>
#include <stdbool.h>

/* Installs the handlers. Call once at start-up. */
void lifecycle_install(void);

/* True once SIGTERM or SIGINT arrived (or lifecycle_request_stop was called). */
bool lifecycle_stopping(void);

/* The flag itself, for loops in shared/ that must give up early (db_connect). */
const volatile sig_atomic_t *lifecycle_stop_flag(void);

/* Asks for a stop as SIGTERM would (tests, fatal conditions found by the main loop). */
void lifecycle_request_stop(void);

/* Which signal asked for the stop (0 if none or requested in code). */
int lifecycle_stop_signal(void);

#endif
