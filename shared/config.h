/*
 * config: a service's configuration, read from environment variables through a table.
 *
 * Each service describes its settings once, as an array of struct config_var (name, type,
 * default, required, secret, help, and where the parsed value goes in the service's own
 * settings struct). config_load() reads every variable, validates all of them, and reports every
 * bad one in a single error message, so an operator fixes a broken deployment in one pass.
 * Secrets are never echoed: not in errors, not in config_describe().
 *
 * Example:
 *     struct settings { char *brokers; int64_t port; bool verbose; };
 *     static const struct config_var vars[] = {
 *         { "KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", true, false,
 *           "bootstrap servers", offsetof(struct settings, brokers), 0, 0 },
 *         { "HTTP_PORT", CONFIG_INT, "8080", false, false, "port",
 *           offsetof(struct settings, port), 0, 65535 },
 *     };
 */
#ifndef SHARED_CONFIG_H
#define SHARED_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type {
	CONFIG_STRING, /* char * field, owned by the settings struct (config_free releases it) */
	CONFIG_INT,    /* int64_t field, decimal, checked against [min, max] when min < max */
	CONFIG_BOOL,   /* bool field: 1/0, true/false, yes/no, on/off (case-insensitive) */
	CONFIG_MS,     /* int64_t field in milliseconds: "250ms", "5s", "2m", "1h" or a bare
			  number of milliseconds; checked against [min, max] when min < max */
};

struct config_var {
	const char *name; /* environment variable */
	enum config_type type;
	const char *default_value; /* NULL: no default */
	bool required;             /* must end up with a value (from env or default) */
	bool secret;               /* never printed: redacted as "***" */
	const char *help;          /* one line for README and --help */
	size_t offset;             /* offsetof(settings struct, field) */
	int64_t min, max;          /* bounds for CONFIG_INT / CONFIG_MS, ignored when min >= max */
};

/* Looks up one variable; returns NULL when unset. The default uses getenv(). */
typedef const char *(*config_getter)(void *ctx, const char *name);

/*
 * Parses every variable of the table into `settings` (a zeroed struct of the caller's type).
 * An unset variable takes its default; an empty string counts as unset. Returns 0 on success.
 * On failure returns -1, leaves fields that did parse set (release them with config_free), and
 * writes into err a message naming every bad variable and why, e.g.
 * "HTTP_PORT: not an integer: \"80a\"; DATABASE_URL: required but not set".
 * A secret's value never appears in err. `getter` may be NULL for getenv().
 */
int config_load(const struct config_var *vars, size_t n, void *settings, config_getter getter,
                void *getter_ctx, char *err, size_t errlen);

/* Frees the CONFIG_STRING fields of settings and sets them to NULL. settings may be NULL. */
void config_free(const struct config_var *vars, size_t n, void *settings);

/*
 * Returns a new JSON object {name: value} of the parsed settings for a start-up log line, with
 * every secret replaced by "***" (or null when unset). Caller owns the reference.
 */
json_t *config_describe(const struct config_var *vars, size_t n, const void *settings);

/* Prints "NAME  type  default  help" lines for every variable (for --help and README). */
void config_print_help(const struct config_var *vars, size_t n, FILE *out);

#endif
