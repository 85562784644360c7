/*
 * log: JSON lines on stderr (see log.h).
 *
 * A line is built completely in memory and then written with one fwrite and fflush under a
 * mutex, so concurrent lines never interleave and a crash right after a call loses nothing that
 * was logged. The level check is a relaxed atomic load: log_enabled is on every hot path.
 */
#include "log.h"

#include "utf8.h"
#include "xalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int log_min_level = LOG_LEVEL_INFO;
static char *log_service;
static FILE *log_out;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, enum log_level min_level)
{
	char *copy = xstrdup(service ? service : "");

	pthread_mutex_lock(&log_lock);
	free(log_service);
	log_service = copy;
	pthread_mutex_unlock(&log_lock);
	atomic_store_explicit(&log_min_level, (int)min_level, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *out)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_output(FILE *out)
{
	pthread_mutex_lock(&log_lock);
	log_out = out;
	pthread_mutex_unlock(&log_lock);
}

bool log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

/*
 * A JSON string for text that should be UTF-8 but may not be (a message built from input):
 * invalid bytes become U+FFFD rather than losing the whole line.
 */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *fixed;

	if (j)
		return j;
	fixed = utf8_sanitize(s, strlen(s), NULL);
	j = json_string(fixed);
	free(fixed);
	return j ? j : json_string("");
}

static bool is_reserved(const char *key)
{
	return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "service") == 0 ||
	       strcmp(key, "msg") == 0;
}

/* "2026-11-28T06:20:57.123Z" */
static void format_now(char buf[32])
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03uZ", (unsigned)(now.tv_nsec / 1000000) % 1000u);
}

void log_emit(enum log_level level, const char *msg, const char *fields_fmt, ...)
{
	char ts[32], stackbuf[2048], *line = stackbuf;
	size_t need;
	json_t *obj = json_object();
	int lv = (int)level;

	if (lv < LOG_LEVEL_DEBUG || lv > LOG_LEVEL_ERROR)
		lv = LOG_LEVEL_ERROR;
	format_now(ts);
	json_object_set_new(obj, "ts", json_string(ts));
	json_object_set_new(obj, "level", json_string(level_names[lv]));
	pthread_mutex_lock(&log_lock);
	json_object_set_new(obj, "service", json_text(log_service ? log_service : ""));
	pthread_mutex_unlock(&log_lock);
	json_object_set_new(obj, "msg", json_text(msg ? msg : ""));

	if (fields_fmt) {
		json_error_t jerr;
		json_t *fields;
		va_list ap;

		va_start(ap, fields_fmt);
		fields = json_vpack_ex(&jerr, 0, fields_fmt, ap);
		va_end(ap);
		if (!fields) {
			json_object_set_new(obj, "log_error", json_text(jerr.text));
		} else if (!json_is_object(fields)) {
			json_object_set_new(
			        obj, "log_error",
			        json_string("fields format does not produce an object"));
		} else {
			const char *key;
			json_t *val;
			json_object_foreach(fields, key, val)
			{
				if (!is_reserved(key))
					json_object_set(obj, key, val);
			}
		}
		json_decref(fields);
	}

	/* One buffer for the whole line, newline included, so it goes out in one write. */
	need = json_dumpb(obj, stackbuf, sizeof(stackbuf) - 1, JSON_COMPACT);
	if (need >= sizeof(stackbuf)) {
		line = xmalloc(need + 1);
		need = json_dumpb(obj, line, need, JSON_COMPACT);
	}
	json_decref(obj);
	if (need == 0) {
		if (line != stackbuf)
			free(line);
		return;
	}
	line[need++] = '\n';

	pthread_mutex_lock(&log_lock);
	{
		FILE *out = log_out ? log_out : stderr;
		fwrite(line, 1, need, out);
		fflush(out);
	}
	pthread_mutex_unlock(&log_lock);
	if (line != stackbuf)
		free(line);
}

/*
 * Letters and digits form words; ASCII punctuation, spaces and the common Unicode punctuation
 * and spaces separate them. Every other code point counts as a letter, which is right for
 * Cyrillic and Latin names and errs on the side of masking for scripts we do not list.
 */
static bool is_word_char(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
		       (cp >= 'A' && cp <= 'Z');
	if (cp <= 0xBF) /* C1 controls, NBSP, Latin-1 punctuation (« » · ...) */
		return false;
	if (cp == 0xD7 || cp == 0xF7) /* × ÷ */
		return false;
	if (cp >= 0x2000 && cp <= 0x206F) /* General Punctuation: dashes, quotes, spaces */
		return false;
	if (cp >= 0x3000 && cp <= 0x3003) /* ideographic space and punctuation */
		return false;
	return true;
}

/*
 * Masking keeps a word's first and last character. Invalid bytes are treated as letters that
 * are always masked, so the output is valid UTF-8 whatever the input.
 */
char *log_mask(const char *personal)
{
	const char *p, *end, *word_start = NULL;
	size_t len, o = 0;
	char *out;

	if (!personal)
		return NULL;
	len = strlen(personal);
	out = xmalloc(len + 1);
	p = personal;
	end = personal + len;
	for (;;) {
		size_t n = *p ? utf8_seq_len(p, (size_t)(end - p)) : 0;
		bool word = *p && (n == 0 || is_word_char(utf8_decode(p, n)));

		if (word) {
			if (!word_start)
				word_start = p;
			p += n ? n : 1;
			continue;
		}
		if (word_start) {
			/* emit the word [word_start, p): first char, stars, last char */
			const char *q = word_start;
			size_t count = 0, idx = 0;
			while (q < p) {
				size_t m = utf8_seq_len(q, (size_t)(p - q));
				q += m ? m : 1;
				count++;
			}
			q = word_start;
			while (q < p) {
				size_t m = utf8_seq_len(q, (size_t)(p - q));
				bool keep = (idx == 0 || idx == count - 1) && m > 0;
				if (keep) {
					memcpy(out + o, q, m);
					o += m;
				} else {
					out[o++] = '*';
				}
				q += m ? m : 1;
				idx++;
			}
			word_start = NULL;
		}
		if (!*p)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return out;
}
