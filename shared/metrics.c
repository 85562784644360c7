/*
 * metrics: a registry of counters, gauges and histograms rendered in the Prometheus text format
 * 0.0.4 (see metrics.h).
 *
 * Each metric keeps its series in a small chained hash keyed by the label values, so an update
 * is one hash, one short chain walk and one addition under the registry mutex. Rendering sorts a
 * metric's series by label values, so the output is stable whatever order threads first touched
 * them in. Misuse (a bad name, a redeclaration with other labels, metric_set on a counter) is a
 * programming error: it aborts with one line on stderr, like xalloc, so the first test that
 * runs the code finds it.
 */
#include "metrics.h"

#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Enough for any sensible metric; a fixed bound keeps label values on the stack. */
#define METRICS_MAX_LABELS 16

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

static const char *const type_names[] = {"counter", "gauge", "histogram"};

/* Upper bounds in seconds, from half a millisecond (a cached lookup) to ten seconds. */
static const double default_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};

struct series {
	struct series *next; /* hash chain */
	uint64_t hash;
	char **values;     /* nlabels label values, then NULL; owned */
	double value;      /* counter, gauge */
	double sum;        /* histogram */
	uint64_t count;    /* histogram */
	uint64_t *buckets; /* histogram: nbuckets + 1 counts (last: +Inf), not cumulative */
};

struct metric {
	struct metrics *reg;
	enum metric_type type;
	char *name;
	char *help;
	char **label_names;
	size_t nlabels;
	double *bounds; /* histogram upper bounds, without +Inf */
	size_t nbounds;
	struct series **table;
	size_t table_size;
	size_t nseries;
};

struct render_hook {
	metrics_collect_fn fn;
	void *ctx;
};

struct metrics {
	pthread_mutex_t lock;
	struct metric **metrics; /* in declaration order, which is the render order */
	size_t nmetrics, metrics_cap;
	struct render_hook *hooks;
	size_t nhooks, hooks_cap;
	/* set by metrics_add_process_metrics */
	struct metric *proc_rss, *proc_vsz, *proc_fds, *proc_max_fds, *proc_cpu;
};

/* ---- programming errors ------------------------------------------------------------------ */

static void die(const char *what, const char *name) __attribute__((noreturn));

static void die(const char *what, const char *name)
{
	char safe[128];
	size_t i;

	/* the name may be the invalid thing itself: keep the line valid JSON */
	for (i = 0; name && name[i] && i < sizeof(safe) - 1; i++) {
		unsigned char c = (unsigned char)name[i];
		safe[i] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x7F) ? '?' : (char)c;
	}
	safe[i] = '\0';
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"metrics: %s\",\"metric\":\"%s\"}\n", what,
	        safe);
	abort();
}

/* ---- declaration ------------------------------------------------------------------------- */

struct metrics *metrics_new(void)
{
	struct metrics *reg = xcalloc(1, sizeof(*reg));

	pthread_mutex_init(&reg->lock, NULL);
	return reg;
}

static void series_free(struct series *s)
{
	char **v;

	for (v = s->values; *v; v++)
		free(*v);
	free(s->values);
	free(s->buckets);
	free(s);
}

static void metric_free(struct metric *m)
{
	size_t i;

	for (i = 0; i < m->table_size; i++) {
		struct series *s = m->table[i], *next;
		for (; s; s = next) {
			next = s->next;
			series_free(s);
		}
	}
	free(m->table);
	for (i = 0; i < m->nlabels; i++)
		free(m->label_names[i]);
	free(m->label_names);
	free(m->bounds);
	free(m->name);
	free(m->help);
	free(m);
}

void metrics_free(struct metrics *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = 0; i < reg->nmetrics; i++)
		metric_free(reg->metrics[i]);
	free(reg->metrics);
	free(reg->hooks);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

static bool valid_name(const char *s, bool colon_ok)
{
	const char *p;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon_ok && c == ':')))
			return false;
	}
	return true;
}

/* Splits "source, outcome" into trimmed, validated names. */
static size_t parse_label_names(const char *list, enum metric_type type, char ***out)
{
	char **names = xcalloc(METRICS_MAX_LABELS, sizeof(*names));
	const char *p = list;
	size_t n = 0, i;

	while (p && *p) {
		const char *start, *end, *comma = strchr(p, ',');
		end = comma ? comma : p + strlen(p);
		start = p;
		while (start < end && *start == ' ')
			start++;
		while (end > start && end[-1] == ' ')
			end--;
		if (n == METRICS_MAX_LABELS)
			die("too many labels", list);
		names[n] = xstrndup(start, (size_t)(end - start));
		if (!valid_name(names[n], false) || strncmp(names[n], "__", 2) == 0)
			die("invalid label name", names[n]);
		if (type == METRIC_HISTOGRAM && strcmp(names[n], "le") == 0)
			die("label \"le\" is reserved for histogram buckets", list);
		for (i = 0; i < n; i++) {
			if (strcmp(names[i], names[n]) == 0)
				die("duplicate label name", names[n]);
		}
		n++;
		p = comma ? comma + 1 : NULL;
	}
	*out = names;
	return n;
}

static struct series *series_new(const struct metric *m, const char *const *values, uint64_t h)
{
	struct series *s = xcalloc(1, sizeof(*s));
	size_t i;

	s->hash = h;
	s->values = xcalloc(m->nlabels + 1, sizeof(*s->values));
	for (i = 0; i < m->nlabels; i++)
		s->values[i] = xstrdup(values[i]);
	if (m->type == METRIC_HISTOGRAM)
		s->buckets = xcalloc(m->nbounds + 1, sizeof(*s->buckets));
	return s;
}

static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)values[i];
		for (; *p; p++) {
			h ^= *p;
			h *= 1099511628211ULL;
		}
		h ^= 0xFF; /* never inside UTF-8 text: separates ("ab","c") from ("a","bc") */
		h *= 1099511628211ULL;
	}
	return h;
}

static void table_insert(struct metric *m, struct series *s)
{
	size_t i = (size_t)(s->hash & (m->table_size - 1));

	s->next = m->table[i];
	m->table[i] = s;
}

static void table_grow(struct metric *m)
{
	struct series **old = m->table;
	size_t old_size = m->table_size, i;

	m->table_size = old_size ? old_size * 2 : 8;
	m->table = xcalloc(m->table_size, sizeof(*m->table));
	for (i = 0; i < old_size; i++) {
		struct series *s = old[i], *next;
		for (; s; s = next) {
			next = s->next;
			table_insert(m, s);
		}
	}
	free(old);
}

/* Finds the series of these label values; creates it when `create`. Lock held. */
static struct series *series_lookup(struct metric *m, const char *const *values, bool create)
{
	uint64_t h = hash_values(values, m->nlabels);
	struct series *s;
	size_t i;

	if (m->table_size) {
		for (s = m->table[h & (m->table_size - 1)]; s; s = s->next) {
			if (s->hash != h)
				continue;
			for (i = 0; i < m->nlabels && strcmp(s->values[i], values[i]) == 0; i++)
				;
			if (i == m->nlabels)
				return s;
		}
	}
	if (!create)
		return NULL;
	if (m->nseries >= m->table_size)
		table_grow(m);
	s = series_new(m, values, h);
	table_insert(m, s);
	m->nseries++;
	return s;
}

static bool same_labels(const struct metric *m, char **names, size_t n)
{
	size_t i;

	if (m->nlabels != n)
		return false;
	for (i = 0; i < n; i++) {
		if (strcmp(m->label_names[i], names[i]) != 0)
			return false;
	}
	return true;
}

static struct metric *declare(struct metrics *reg, enum metric_type type, const char *name,
                              const char *help, const char *label_names, const double *bounds,
                              size_t nbounds)
{
	struct metric *m = NULL;
	char **names;
	size_t nlabels, i;

	if (!valid_name(name, true))
		die("invalid metric name", name);
	nlabels = parse_label_names(label_names, type, &names);

	pthread_mutex_lock(&reg->lock);
	for (i = 0; i < reg->nmetrics; i++) {
		if (strcmp(reg->metrics[i]->name, name) == 0) {
			m = reg->metrics[i];
			break;
		}
	}
	if (m) {
		bool same = m->type == type && same_labels(m, names, nlabels);
		pthread_mutex_unlock(&reg->lock);
		for (i = 0; i < nlabels; i++)
			free(names[i]);
		free(names);
		if (!same)
			die("declared twice with a different type or labels", name);
		return m;
	}

	m = xcalloc(1, sizeof(*m));
	m->reg = reg;
	m->type = type;
	m->name = xstrdup(name);
	m->help = xstrdup(help ? help : "");
	m->label_names = names;
	m->nlabels = nlabels;
	if (type == METRIC_HISTOGRAM) {
		m->bounds = xcalloc(nbounds ? nbounds : 1, sizeof(*m->bounds));
		memcpy(m->bounds, bounds, nbounds * sizeof(*bounds));
		m->nbounds = nbounds;
	}
	/* An unlabelled metric exists from the start, so dashboards see 0 rather than nothing. */
	if (nlabels == 0)
		series_lookup(m, NULL, true);

	if (reg->nmetrics == reg->metrics_cap) {
		reg->metrics_cap = reg->metrics_cap ? reg->metrics_cap * 2 : 16;
		reg->metrics = xrealloc(reg->metrics, reg->metrics_cap * sizeof(*reg->metrics));
	}
	reg->metrics[reg->nmetrics++] = m;
	pthread_mutex_unlock(&reg->lock);
	return m;
}

struct metric *metrics_counter(struct metrics *reg, const char *name, const char *help,
                               const char *label_names)
{
	return declare(reg, METRIC_COUNTER, name, help, label_names, NULL, 0);
}

struct metric *metrics_gauge(struct metrics *reg, const char *name, const char *help,
                             const char *label_names)
{
	return declare(reg, METRIC_GAUGE, name, help, label_names, NULL, 0);
}

struct metric *metrics_histogram(struct metrics *reg, const char *name, const char *help,
                                 const char *label_names, const double *buckets, size_t nbuckets)
{
	size_t i;

	if (!buckets || nbuckets == 0) {
		buckets = default_buckets;
		nbuckets = sizeof(default_buckets) / sizeof(default_buckets[0]);
	}
	/* +Inf is always added; a caller that lists it gets it once */
	if (isinf(buckets[nbuckets - 1]) && buckets[nbuckets - 1] > 0)
		nbuckets--;
	for (i = 0; i < nbuckets; i++) {
		if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
			die("histogram buckets must be finite and strictly increasing", name);
	}
	return declare(reg, METRIC_HISTOGRAM, name, help, label_names, buckets, nbuckets);
}

/* ---- updates ----------------------------------------------------------------------------- */

/* Copies the label values that follow the value argument; NULL counts as "". */
static void read_label_values(const struct metric *m, const char **values, va_list ap)
{
	size_t i;

	for (i = 0; i < m->nlabels; i++) {
		values[i] = va_arg(ap, const char *);
		if (!values[i])
			values[i] = "";
	}
}

/*
 * Counters only go up: a negative or NaN increment is dropped rather than corrupting rate().
 * Gauges accept metric_add too (in-flight counts go up and down) with any sign.
 */
void metric_add(struct metric *m, double v, ...)
{
	const char *values[METRICS_MAX_LABELS];
	va_list ap;

	if (m->type == METRIC_HISTOGRAM)
		die("metric_add on a histogram", m->name);
	va_start(ap, v);
	read_label_values(m, values, ap);
	va_end(ap);
	if (m->type == METRIC_COUNTER && !(v >= 0))
		return;
	pthread_mutex_lock(&m->reg->lock);
	series_lookup(m, values, true)->value += v;
	pthread_mutex_unlock(&m->reg->lock);
}

void metric_set(struct metric *m, double v, ...)
{
	const char *values[METRICS_MAX_LABELS];
	va_list ap;

	if (m->type != METRIC_GAUGE)
		die("metric_set on a metric that is not a gauge", m->name);
	va_start(ap, v);
	read_label_values(m, values, ap);
	va_end(ap);
	pthread_mutex_lock(&m->reg->lock);
	series_lookup(m, values, true)->value = v;
	pthread_mutex_unlock(&m->reg->lock);
}

void metric_remove(struct metric *m, ...)
{
	const char *values[METRICS_MAX_LABELS];
	va_list ap;

	va_start(ap, m);
	read_label_values(m, values, ap);
	va_end(ap);
	pthread_mutex_lock(&m->reg->lock);
	struct series *s = series_lookup(m, values, false);
	if (s) {
		struct series **p = &m->table[s->hash & (m->table_size - 1)];
		while (*p != s)
			p = &(*p)->next;
		*p = s->next;
		m->nseries--;
		series_free(s);
	}
	pthread_mutex_unlock(&m->reg->lock);
}

void metric_observe(struct metric *m, double v, ...)
{
	const char *values[METRICS_MAX_LABELS];
	struct series *s;
	size_t lo = 0, hi;
	va_list ap;

	if (m->type != METRIC_HISTOGRAM)
		die("metric_observe on a metric that is not a histogram", m->name);
	va_start(ap, v);
	read_label_values(m, values, ap);
	va_end(ap);

	/* first bound >= v; NaN compares false everywhere and lands in +Inf, as in client_golang */
	hi = m->nbounds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v <= m->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	if (isnan(v))
		lo = m->nbounds;

	pthread_mutex_lock(&m->reg->lock);
	s = series_lookup(m, values, true);
	s->buckets[lo]++;
	s->count++;
	s->sum += v;
	pthread_mutex_unlock(&m->reg->lock);
}

double metric_value(struct metric *m, ...)
{
	const char *values[METRICS_MAX_LABELS];
	struct series *s;
	double v = 0;
	va_list ap;

	va_start(ap, m);
	read_label_values(m, values, ap);
	va_end(ap);
	pthread_mutex_lock(&m->reg->lock);
	s = series_lookup(m, values, false);
	if (s)
		v = m->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&m->reg->lock);
	return v;
}

void metrics_on_render(struct metrics *reg, metrics_collect_fn fn, void *ctx)
{
	pthread_mutex_lock(&reg->lock);
	if (reg->nhooks == reg->hooks_cap) {
		reg->hooks_cap = reg->hooks_cap ? reg->hooks_cap * 2 : 4;
		reg->hooks = xrealloc(reg->hooks, reg->hooks_cap * sizeof(*reg->hooks));
	}
	reg->hooks[reg->nhooks].fn = fn;
	reg->hooks[reg->nhooks].ctx = ctx;
	reg->nhooks++;
	pthread_mutex_unlock(&reg->lock);
}

/* ---- rendering --------------------------------------------------------------------------- */

/*
 * Escapes HELP text (backslash, newline) or a label value (also double quote). The format
 * requires UTF-8, and label values come from input, so invalid bytes first become U+FFFD; the
 * escaped characters are ASCII, which never occurs inside a multi-byte sequence.
 */
static void sb_escaped(struct strbuf *sb, const char *s, bool quote)
{
	char *valid = utf8_sanitize(s, strlen(s), NULL);
	const char *p = valid;

	for (;;) {
		size_t run = strcspn(p, quote ? "\\\n\"" : "\\\n");

		strbuf_add(sb, p, run);
		p += run;
		if (!*p)
			break;
		strbuf_addstr(sb, *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : "\\\"");
		p++;
	}
	free(valid);
}

/*
 * A float as Prometheus (Go's strconv 'g', shortest) writes it: integers without exponent or
 * fraction, others with the fewest digits that read back exactly, and NaN, +Inf, -Inf.
 */
static void format_double(double v, char *buf, size_t len)
{
	int prec;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, len, "%.0f", v);
	} else {
		for (prec = 1; prec < 17; prec++) {
			snprintf(buf, len, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				return;
		}
		snprintf(buf, len, "%.17g", v);
	}
}

/* {a="x",b="y"} or {a="x",le="0.5"}, or nothing when there are no labels at all. */
static void sb_labels(struct strbuf *sb, const struct metric *m, const struct series *s,
                      const char *le)
{
	size_t i;

	if (m->nlabels == 0 && !le)
		return;
	strbuf_addstr(sb, "{");
	for (i = 0; i < m->nlabels; i++) {
		strbuf_addf(sb, "%s%s=\"", i ? "," : "", m->label_names[i]);
		sb_escaped(sb, s->values[i], true);
		strbuf_addstr(sb, "\"");
	}
	if (le)
		strbuf_addf(sb, "%sle=\"%s\"", m->nlabels ? "," : "", le);
	strbuf_addstr(sb, "}");
}

static int series_cmp(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a;
	const struct series *y = *(const struct series *const *)b;
	size_t i;

	for (i = 0; x->values[i]; i++) {
		int c = strcmp(x->values[i], y->values[i]);
		if (c)
			return c;
	}
	return 0;
}

static void render_series(struct strbuf *sb, const struct metric *m, const struct series *s)
{
	char num[64], le[64];
	uint64_t cumulative = 0;
	size_t i;

	if (m->type != METRIC_HISTOGRAM) {
		format_double(s->value, num, sizeof(num));
		strbuf_addstr(sb, m->name);
		sb_labels(sb, m, s, NULL);
		strbuf_addf(sb, " %s\n", num);
		return;
	}
	for (i = 0; i <= m->nbounds; i++) {
		cumulative += s->buckets[i];
		if (i < m->nbounds)
			format_double(m->bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		strbuf_addf(sb, "%s_bucket", m->name);
		sb_labels(sb, m, s, le);
		strbuf_addf(sb, " %" PRIu64 "\n", cumulative);
	}
	format_double(s->sum, num, sizeof(num));
	strbuf_addf(sb, "%s_sum", m->name);
	sb_labels(sb, m, s, NULL);
	strbuf_addf(sb, " %s\n", num);
	strbuf_addf(sb, "%s_count", m->name);
	sb_labels(sb, m, s, NULL);
	strbuf_addf(sb, " %" PRIu64 "\n", s->count);
}

static void render_metric(struct strbuf *sb, const struct metric *m)
{
	struct series **all;
	size_t i, n = 0;

	strbuf_addf(sb, "# HELP %s ", m->name);
	sb_escaped(sb, m->help, false);
	strbuf_addf(sb, "\n# TYPE %s %s\n", m->name, type_names[m->type]);
	if (m->nseries == 0)
		return;
	all = xmalloc(m->nseries * sizeof(*all));
	for (i = 0; i < m->table_size; i++) {
		struct series *s;
		for (s = m->table[i]; s; s = s->next)
			all[n++] = s;
	}
	qsort(all, n, sizeof(*all), series_cmp);
	for (i = 0; i < n; i++)
		render_series(sb, m, all[i]);
	free(all);
}

char *metrics_render(struct metrics *reg)
{
	struct strbuf sb = {0};
	struct render_hook *hooks;
	size_t nhooks, i;

	/* hooks update gauges, which takes the lock: run them on a copy, unlocked */
	pthread_mutex_lock(&reg->lock);
	nhooks = reg->nhooks;
	hooks = xmalloc((nhooks ? nhooks : 1) * sizeof(*hooks));
	if (nhooks)
		memcpy(hooks, reg->hooks, nhooks * sizeof(*hooks));
	pthread_mutex_unlock(&reg->lock);
	for (i = 0; i < nhooks; i++)
		hooks[i].fn(hooks[i].ctx);
	free(hooks);

	pthread_mutex_lock(&reg->lock);
	for (i = 0; i < reg->nmetrics; i++)
		render_metric(&sb, reg->metrics[i]);
	pthread_mutex_unlock(&reg->lock);
	return strbuf_detach(&sb);
}

/* ---- process metrics --------------------------------------------------------------------- */

/* Sets an unlabelled series whatever its type: the CPU counter is read, not incremented. */
static void store_value(struct metric *m, double v)
{
	pthread_mutex_lock(&m->reg->lock);
	series_lookup(m, NULL, true)->value = v;
	pthread_mutex_unlock(&m->reg->lock);
}

/*
 * Fields of /proc/self/stat by their number in proc(5) (1-based); the command name in field 2
 * may hold spaces and parentheses, so counting starts after its last ')'.
 */
static int read_proc_stat(unsigned long long *utime, unsigned long long *stime,
                          unsigned long long *starttime)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen("/proc/self/stat", "r");
	char *p;
	int field;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	for (field = 3; field <= 22; field++) {
		char *end;
		unsigned long long v;
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		v = strtoull(p, &end, 10);
		if (field == 14)
			*utime = v;
		else if (field == 15)
			*stime = v;
		else if (field == 22)
			*starttime = v;
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

static int read_boot_time(unsigned long long *btime)
{
	char line[256];
	FILE *f = fopen("/proc/stat", "r");
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "btime ", 6) == 0) {
			*btime = strtoull(line + 6, NULL, 10);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (atoi(e->d_name) == dirfd(d)) /* our own listing is not an open file */
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static void process_collect(void *ctx)
{
	struct metrics *reg = ctx;
	long page = sysconf(_SC_PAGESIZE);
	long ticks = sysconf(_SC_CLK_TCK);
	unsigned long size, resident;
	unsigned long long utime, stime, start;
	struct rlimit rl;
	FILE *f;
	int fds;

	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) == 2) {
			metric_set(reg->proc_vsz, (double)size * (double)page);
			metric_set(reg->proc_rss, (double)resident * (double)page);
		}
		fclose(f);
	}
	fds = count_open_fds();
	if (fds >= 0)
		metric_set(reg->proc_fds, fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		metric_set(reg->proc_max_fds, (double)rl.rlim_cur);
	if (ticks > 0 && read_proc_stat(&utime, &stime, &start) == 0)
		store_value(reg->proc_cpu, (double)(utime + stime) / (double)ticks);
}

void metrics_add_process_metrics(struct metrics *reg)
{
	struct metric *start;
	unsigned long long utime, stime, starttime, btime;
	long ticks = sysconf(_SC_CLK_TCK);

	if (reg->proc_rss) /* already added: one refresh hook is enough */
		return;

	reg->proc_cpu = metrics_counter(reg, "process_cpu_seconds_total",
	                                "Total user and system CPU time spent in seconds.", NULL);
	reg->proc_fds =
	        metrics_gauge(reg, "process_open_fds", "Number of open file descriptors.", NULL);
	reg->proc_max_fds = metrics_gauge(reg, "process_max_fds",
	                                  "Maximum number of open file descriptors.", NULL);
	reg->proc_vsz = metrics_gauge(reg, "process_virtual_memory_bytes",
	                              "Virtual memory size in bytes.", NULL);
	start = metrics_gauge(reg, "process_start_time_seconds",
	                      "Start time of the process since unix epoch in seconds.", NULL);
	reg->proc_rss = metrics_gauge(reg, "process_resident_memory_bytes",
	                              "Resident memory size in bytes.", NULL);

	/* the start time never changes: read it once */
	if (ticks > 0 && read_proc_stat(&utime, &stime, &starttime) == 0 &&
	    read_boot_time(&btime) == 0)
		metric_set(start, (double)btime + (double)starttime / (double)ticks);
	metrics_on_render(reg, process_collect, reg);
}
