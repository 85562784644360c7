/*
 * config: reads a service's settings from environment variables through a table (see config.h).
 *
 * Every variable is looked at even after one fails, and each failure is appended to one error
 * message, so an operator sees every mistake of a deployment at once. A secret's raw value is
 * never copied anywhere but into its settings field.
 */
#include "config.h"

#include "strbuf.h"
#include "xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest part of a bad value quoted in an error; enough to recognise it, not to flood a log. */
#define CONFIG_QUOTE_MAX 64

/* A growing message of "NAME: reason" parts joined by "; ". */
struct config_errors {
	struct strbuf text;
	size_t count;
};

static void errors_add(struct config_errors *e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void errors_add(struct config_errors *e, const char *fmt, ...)
{
	va_list ap;
	char *part;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	part = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(part, (size_t)n + 1, fmt, ap);
	va_end(ap);

	if (e->count++ > 0)
		strbuf_addstr(&e->text, "; ");
	strbuf_add(&e->text, part, (size_t)n);
	free(part);
}

/*
 * Quotes a (non-secret) bad value for an error message: escapes quotes, backslashes and
 * control bytes, and cuts it at CONFIG_QUOTE_MAX bytes on a UTF-8 character boundary.
 */
static char *quote_value(const char *s)
{
	size_t n = strlen(s), cut = n, i, o = 0;
	char *q;

	if (cut > CONFIG_QUOTE_MAX) {
		cut = CONFIG_QUOTE_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	q = xmalloc(cut * 4 + 8);
	q[o++] = '"';
	for (i = 0; i < cut; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			q[o++] = '\\';
			q[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7F) {
			o += (size_t)snprintf(q + o, 5, "\\x%02X", c);
		} else {
			q[o++] = (char)c;
		}
	}
	q[o++] = '"';
	if (cut < n) {
		memcpy(q + o, "...", 3);
		o += 3;
	}
	q[o] = '\0';
	return q;
}

/* Adds "NAME: reason: \"value\"", or "NAME: reason" for a secret. */
static void errors_add_bad(struct config_errors *e, const struct config_var *v, const char *reason,
                           const char *value)
{
	char *q;

	if (v->secret) {
		errors_add(e, "%s: %s", v->name, reason);
		return;
	}
	q = quote_value(value);
	errors_add(e, "%s: %s: %s", v->name, reason, q);
	free(q);
}

/*
 * Decimal int64 with an optional sign and nothing else around it (strtoll alone would accept
 * leading blanks). Returns 0, -1 when malformed, -2 when well-formed but beyond int64.
 */
static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return -1;
	if (errno == ERANGE)
		return -2;
	*out = (int64_t)v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/*
 * Non-negative duration "<digits>[ms|s|m|h]" in milliseconds; a bare number is milliseconds.
 * Returns 0, -1 when malformed, -2 when it does not fit in int64 milliseconds.
 */
static int parse_ms(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}};
	const char *p = s;
	int64_t v = 0;
	size_t i;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -2;
		v = v * 10 + (*p - '0');
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			if (v > INT64_MAX / units[i].ms)
				return -2;
			*out = v * units[i].ms;
			return 0;
		}
	}
	return -1;
}

static bool has_bounds(const struct config_var *v)
{
	return v->min < v->max;
}

static void errors_add_range(struct config_errors *e, const struct config_var *v, const char *value)
{
	char reason[128];
	const char *unit = v->type == CONFIG_MS ? "ms" : "";

	if (has_bounds(v))
		snprintf(reason, sizeof(reason), "out of range [%" PRId64 "%s, %" PRId64 "%s]",
		         v->min, unit, v->max, unit);
	else
		snprintf(reason, sizeof(reason), "out of range");
	errors_add_bad(e, v, reason, value);
}

static const char *getter_env(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

/* Parses one present value into its field; on failure appends the reason and returns -1. */
static int load_one(const struct config_var *v, const char *value, char *field,
                    struct config_errors *e)
{
	int64_t i64;
	bool b;
	int rc;

	switch (v->type) {
	case CONFIG_STRING:
		*(char **)(void *)field = xstrdup(value);
		return 0;
	case CONFIG_INT:
	case CONFIG_MS:
		/* Both parsers answer -1 when malformed, -2 when beyond int64. */
		rc = v->type == CONFIG_INT ? parse_int(value, &i64) : parse_ms(value, &i64);
		if (rc == -1) {
			errors_add_bad(e, v,
			               v->type == CONFIG_INT
			                       ? "not an integer"
			                       : "not a duration (e.g. 250ms, 5s, 2m, 1h)",
			               value);
			return -1;
		}
		if (rc == -2 || (has_bounds(v) && (i64 < v->min || i64 > v->max))) {
			errors_add_range(e, v, value);
			return -1;
		}
		*(int64_t *)(void *)field = i64;
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(value, &b) < 0) {
			errors_add_bad(e, v, "not a boolean (1/0, true/false, yes/no, on/off)",
			               value);
			return -1;
		}
		*(bool *)(void *)field = b;
		return 0;
	}
	errors_add(e, "%s: unknown variable type %d", v->name, (int)v->type);
	return -1;
}

int config_load(const struct config_var *vars, size_t n, void *settings, config_getter getter,
                void *getter_ctx, char *err, size_t errlen)
{
	struct config_errors e = {0};
	char *base = settings;
	size_t i;

	if (!getter)
		getter = getter_env;
	for (i = 0; i < n; i++) {
		const struct config_var *v = &vars[i];
		const char *value = getter(getter_ctx, v->name);

		if (value && *value == '\0')
			value = NULL;
		if (!value && v->default_value && *v->default_value)
			value = v->default_value;
		if (!value) {
			if (v->required)
				errors_add(&e, "%s: required but not set", v->name);
			continue;
		}
		load_one(v, value, base + v->offset, &e);
	}

	if (e.count == 0) {
		if (err && errlen > 0)
			err[0] = '\0';
		return 0;
	}
	if (err && errlen > 0)
		snprintf(err, errlen, "%s", e.text.buf);
	strbuf_release(&e.text);
	return -1;
}

void config_free(const struct config_var *vars, size_t n, void *settings)
{
	char *base = settings;
	size_t i;

	if (!settings)
		return;
	for (i = 0; i < n; i++) {
		if (vars[i].type == CONFIG_STRING) {
			char **field = (char **)(void *)(base + vars[i].offset);
			free(*field);
			*field = NULL;
		}
	}
}

/* A JSON string for a setting; bytes that are not UTF-8 cannot be shown, so say so. */
static json_t *describe_string(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	return j ? j : json_string("<not valid UTF-8>");
}

json_t *config_describe(const struct config_var *vars, size_t n, const void *settings)
{
	const char *base = settings;
	json_t *obj = json_object();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct config_var *v = &vars[i];
		const void *field = base + v->offset;
		json_t *val;

		switch (v->type) {
		case CONFIG_STRING: {
			const char *s = *(const char *const *)field;
			if (v->secret)
				val = s ? json_string("***") : json_null();
			else
				val = describe_string(s);
			break;
		}
		case CONFIG_INT:
		case CONFIG_MS: {
			const int64_t *i64 = field;
			val = v->secret ? json_string("***") : json_integer((json_int_t)*i64);
			break;
		}
		case CONFIG_BOOL: {
			const bool *b = field;
			val = v->secret ? json_string("***") : json_boolean(*b);
			break;
		}
		default:
			val = json_null();
			break;
		}
		json_object_set_new(obj, v->name, val);
	}
	return obj;
}

static const char *type_name(enum config_type t)
{
	switch (t) {
	case CONFIG_STRING:
		return "string";
	case CONFIG_INT:
		return "int";
	case CONFIG_BOOL:
		return "bool";
	case CONFIG_MS:
		return "duration";
	}
	return "?";
}

static const char *help_default(const struct config_var *v)
{
	if (!v->default_value || !*v->default_value)
		return "-";
	return v->secret ? "***" : v->default_value;
}

void config_print_help(const struct config_var *vars, size_t n, FILE *out)
{
	int wname = 0, wtype = 0, wdef = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int a = (int)strlen(vars[i].name);
		int b = (int)strlen(type_name(vars[i].type));
		int c = (int)strlen(help_default(&vars[i]));
		wname = a > wname ? a : wname;
		wtype = b > wtype ? b : wtype;
		wdef = c > wdef ? c : wdef;
	}
	for (i = 0; i < n; i++) {
		const struct config_var *v = &vars[i];
		fprintf(out, "%-*s  %-*s  %-*s  %s%s\n", wname, v->name, wtype, type_name(v->type),
		        wdef, help_default(v), v->help ? v->help : "",
		        v->required ? " (required)" : "");
	}
}
