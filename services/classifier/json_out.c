/* json_out: compact JSON text of a jansson value, as json_dumps writes it (see json_out.h). */
#include "json_out.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void json_out_string(struct strbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	strbuf_addch(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t n = 2;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		strbuf_add(b, esc, n);
	}
	strbuf_add(b, s + run, len - run);
	strbuf_addch(b, '"');
}

static void out_integer(struct strbuf *b, json_int_t v)
{
	char num[24], *p = num + sizeof(num);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	strbuf_add(b, p, (size_t)(num + sizeof(num) - p));
}

void json_out_real(struct strbuf *b, double v)
{
	char num[40], *e;
	double units = round(v * 10000.0);
	int n;

	/* A value of at most four decimals below 10^5 has at most nine significant digits:
	 * "%.10g" writes exactly its decimals, trailing zeros dropped, and jansson adds ".0"
	 * to a whole number. The probabilities (rounded so) and most coordinates take this. */
	if (fabs(v) < 1e5 && units / 10000.0 == v) {
		unsigned long long u = (unsigned long long)fabs(units);
		char *p = num + sizeof(num);
		int decimals = 4;
		while (decimals > 1 && u % 10 == 0) {
			u /= 10;
			decimals--;
		}
		for (int i = 0; i < decimals; i++, u /= 10)
			*--p = (char)('0' + u % 10);
		*--p = '.';
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (signbit(v))
			*--p = '-';
		strbuf_add(b, p, (size_t)(num + sizeof(num) - p));
		return;
	}
	/* Otherwise as jansson does it: "%.10g", ".0" when that reads as an integer, and the
	 * exponent without '+' or leading zeros. */
	n = snprintf(num, sizeof(num), "%.10g", v);
	if (n < 0 || (size_t)n >= sizeof(num) - 2)
		n = 0;
	num[n] = '\0';
	if (!strchr(num, '.') && !strchr(num, 'e')) {
		memcpy(num + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(num, 'e')) != NULL) {
		char *start = e + 1, *end;
		if (*start == '-')
			start++;
		end = start;
		if (*end == '+')
			end++;
		while (*end == '0' && end[1])
			end++;
		memmove(start, end, strlen(end) + 1);
		n = (int)strlen(num);
	}
	strbuf_add(b, num, (size_t)n);
}

void json_out(struct strbuf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *m;
		bool first = true;
		strbuf_addch(b, '{');
		json_object_foreach((json_t *)(uintptr_t)v, key, m)
		{
			if (!first)
				strbuf_addch(b, ',');
			first = false;
			json_out_string(b, key, strlen(key));
			strbuf_addch(b, ':');
			json_out(b, m);
		}
		strbuf_addch(b, '}');
		break;
	}
	case JSON_ARRAY:
		strbuf_addch(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				strbuf_addch(b, ',');
			json_out(b, json_array_get(v, i));
		}
		strbuf_addch(b, ']');
		break;
	case JSON_STRING:
		json_out_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		out_integer(b, json_integer_value(v));
		break;
	case JSON_REAL:
		json_out_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		strbuf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		strbuf_add(b, "false", 5);
		break;
	default:
		strbuf_add(b, "null", 4);
		break;
	}
}
