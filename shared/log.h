/*
 * log: one JSON object per line on stderr, the only log format of every service.
 *
 *     {"ts":"2026-11-28T06:20:57.123Z","level":"info","service":"collector",
 *      "msg":"message accepted","source":"vk","id":"..."}
 *
 * Fields are given as a jansson pack format and its arguments (see json_pack), so a call site
 * reads like the line it produces:
 *
 *     log_info("consumer assigned", "{s:s, s:i}", "topic", topic, "partitions", n);
 *     log_warn("poll failed", "{s:s, s:s}", "source", name, "error", err);
 *     log_info("started", NULL);
 *
 * The log_* macros test the level before evaluating any argument, so a disabled debug line
 * costs one comparison. A line is written with one write(2) call under a lock, so lines from
 * several threads never interleave. Library code in shared/ never logs: it returns errors, and
 * a service logs once, at its boundary.
 */
#ifndef SHARED_LOG_H
#define SHARED_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/*
 * Sets the service name written in every line and the lowest level written. Call once at
 * start-up, before other threads exist. `service` is copied.
 */
void log_init(const char *service, enum log_level min_level);

/* Parses "debug", "info", "warn", "error" (case-insensitive). Returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/* Redirects output (default: stderr). For tests; the stream is borrowed and must outlive use. */
void log_set_output(FILE *out);

/* True when lines of this level are written. */
bool log_enabled(enum log_level level);

/*
 * Writes one line. `fields_fmt` is a json_pack format producing an object, or NULL for none;
 * a field named ts, level, service or msg is ignored. A bad format writes the line with a
 * "log_error" field instead of the fields, never crashes.
 */
void log_emit(enum log_level level, const char *msg, const char *fields_fmt, ...);

#define log_debug(...)                                                                             \
	((void)(log_enabled(LOG_LEVEL_DEBUG) && (log_emit(LOG_LEVEL_DEBUG, __VA_ARGS__), 1)))
#define log_info(...)                                                                              \
	((void)(log_enabled(LOG_LEVEL_INFO) && (log_emit(LOG_LEVEL_INFO, __VA_ARGS__), 1)))
#define log_warn(...)                                                                              \
	((void)(log_enabled(LOG_LEVEL_WARN) && (log_emit(LOG_LEVEL_WARN, __VA_ARGS__), 1)))
#define log_error(...)                                                                             \
	((void)(log_enabled(LOG_LEVEL_ERROR) && (log_emit(LOG_LEVEL_ERROR, __VA_ARGS__), 1)))

/*
 * Masks personal data for logs: keeps the first and last character of each word-like part and
 * replaces the rest with '*' ("Иван Петров" -> "И**н П****в"), UTF-8 aware. Returns a new
 * string the caller frees; NULL in, NULL out.
 */
char *log_mask(const char *personal);

#endif
