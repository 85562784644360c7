/*
 * utf8: well-formedness, decoding, counting and repair of UTF-8 (see utf8.h).
 *
 * Everything is built on utf8_seq_len, so the validator, the sanitiser and the callers that
 * walk text themselves (log masking, metrics escaping) agree on what is valid byte for byte.
 */
#include "utf8.h"

#include <string.h>

#include "xalloc.h"

/* The replacement character U+FFFD, encoded. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

static int is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t utf8_seq_len(const char *s, size_t avail)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	size_t n;

	if (avail == 0)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		n = 2;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		n = 3;
		if (u[0] == 0xE0)
			lo = 0xA0;
		else if (u[0] == 0xED)
			hi = 0x9F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		n = 4;
		if (u[0] == 0xF0)
			lo = 0x90;
		else if (u[0] == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (avail < n || u[1] < lo || u[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (!is_cont(u[k]))
			return 0;
	return n;
}

uint32_t utf8_decode(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	switch (n) {
	case 1:
		return u[0];
	case 2:
		return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
	case 3:
		return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) |
		       (u[2] & 0x3F);
	default:
		return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
		       ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
	}
}

long utf8_invalid_at(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = s[i] == '\0' ? 0 : utf8_seq_len(s + i, len - i);
		if (n == 0)
			return (long)i;
		i += n;
	}
	return -1;
}

size_t utf8_length(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (!is_cont(u[i]))
			n++;
	return n;
}

char *utf8_sanitize(const char *s, size_t len, size_t *out_len)
{
	/* At worst every byte becomes the three bytes of U+FFFD. */
	char *out = xcalloc(len + 1, 3);
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			memcpy(out + o, UTF8_REPLACEMENT, 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}
