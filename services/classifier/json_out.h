/*
 * json_out: a jansson value as compact JSON text, appended to a strbuf: the bytes
 * json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10)) writes (members in their order, strings
 * escaped as jansson escapes them, reals with ten significant digits), without its cost. It is
 * how the classifier writes its classified.v1 records: json_dumps spent more time on a record
 * than the whole decision did, most of it printing the two dozen probabilities and weights of
 * each record through printf, which a probability rounded to four decimals does not need.
 */
#ifndef CLASSIFIER_JSON_OUT_H
#define CLASSIFIER_JSON_OUT_H

#include <jansson.h>
#include <stddef.h>

#include "strbuf.h"

/* Appends v (any JSON value; its strings valid UTF-8, its reals finite, as jansson builds
 * them) to b. */
void json_out(struct strbuf *b, const json_t *v);

/* Appends s[0..len) as a JSON string, quoted and escaped. */
void json_out_string(struct strbuf *b, const char *s, size_t len);

/* Appends the real v as JSON_REAL_PRECISION(10) writes it ("0.9986", "1.0", "1e-5"). */
void json_out_real(struct strbuf *b, double v);

#endif
