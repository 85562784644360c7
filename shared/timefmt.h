/*
 * timefmt: RFC 3339 timestamps, the only time format on topics, in the database's text
 * parameters and in APIs. Internally times are int64 milliseconds since the Unix epoch, UTC.
 */
#ifndef SHARED_TIMEFMT_H
#define SHARED_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Parses "2026-11-28T06:20:57Z", "2026-11-28T13:20:57.5+07:00", lower-case t/z, and a space
 * instead of T. Fractional seconds beyond milliseconds are truncated. Checks ranges (month,
 * day of that month, hour, minute, second up to 60 for a leap second, offset up to ±23:59).
 * Returns 0 and sets *ms, or -1 for anything else (including trailing bytes). A second of 60
 * is accepted only at 23:59:60 UTC and counts as the next day's first second; an offset that
 * moves the instant outside years 0000..9999 UTC is rejected.
 */
int rfc3339_parse(const char *s, int64_t *ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL) into buf, which must hold 32 bytes. Times
 * outside years 0000..9999 are clamped to that range, so the output always parses. */
void rfc3339_format(int64_t ms, char buf[32]);

/* Wall-clock now, ms since the epoch. */
int64_t time_now_ms(void);

/* Monotonic clock in ms, for intervals and timeouts. */
int64_t time_mono_ms(void);

/* The time ms (>= 0) from now on `clock`, as pthread_cond_timedwait takes a deadline (on
 * CLOCK_MONOTONIC for a condition variable whose attribute names that clock). */
struct timespec time_after_ms(clockid_t clock, int64_t ms);

#endif
